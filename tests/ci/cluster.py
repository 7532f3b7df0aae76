"""Real-shaped cluster objects (tests/ci/cluster_objects, where they come from is in its README) and a Kubernetes API
that serves them on 127.0.0.1 at the real paths, authorising every request against the RBAC in k8s/verifier.

The `kubernetes` client talks to it through a generated kubeconfig exactly as it would to a cluster, so the paths,
group/versions, label selectors, typed parsing and error handling of ci/cluster.py run for real.
"""

from __future__ import annotations

import hashlib
import json
import string
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from ci.verdict import Snapshot

FIXTURES = Path(__file__).parent / "cluster_objects"
VERIFIER_DIR = Path(__file__).resolve().parents[2] / "k8s/verifier"
REPOSITORY = "ghcr.io/acme/lighthouse"


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def commit(seed: str) -> str:
    return hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()


#: Placeholder values for tests that need no real git repository.
VALUES = {
    "COMMIT": commit("promotion"),
    "PREVIOUS_COMMIT": commit("previous promotion"),
    "REPOSITORY": REPOSITORY,
    "DIGEST": digest("release"),
    "PREVIOUS_DIGEST": digest("previous release"),
    "OTHER_DIGEST": digest("other bytes"),
}
SCENARIOS = sorted(p.stem for p in FIXTURES.glob("*.yaml"))

Manifest = dict[str, Any]


def objects(scenario: str, **values: str) -> list[Manifest]:
    """The objects of one moment, placeholders filled (an unknown placeholder is an error)."""
    text = string.Template((FIXTURES / f"{scenario}.yaml").read_text()).substitute({**VALUES, **values})
    return [doc for doc in yaml.safe_load_all(text) if doc]


def snapshot_of(items: Sequence[Manifest]) -> Snapshot:
    def kind(name: str) -> list[Manifest]:
        return [m for m in items if m["kind"] == name]

    (application,) = kind("Application") or [None]
    (rollout,) = kind("Rollout") or [None]
    return Snapshot(application, rollout, kind("ReplicaSet"), kind("Pod"), kind("AnalysisRun"))


def snapshot(scenario: str, **values: str) -> Snapshot:
    return snapshot_of(objects(scenario, **values))


# --- RBAC, as the API server applies it ---------------------------------------------------------------------------


def verifier_rbac() -> list[Manifest]:
    """The objects of k8s/verifier, read from the files its kustomization lists (it transforms nothing)."""
    kustomization = yaml.safe_load((VERIFIER_DIR / "kustomization.yaml").read_text())
    docs: list[Manifest] = []
    for resource in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((VERIFIER_DIR / resource).read_text()) if d]
    return docs


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...]


#: Who a token is: the verifier's ServiceAccount (a kubeconfig secret) or an EKS access entry's group (OIDC).
SERVICE_ACCOUNT = Identity(
    "system:serviceaccount:lighthouse-verify:lighthouse-verifier",
    ("system:serviceaccounts", "system:serviceaccounts:lighthouse-verify", "system:authenticated"),
)
EKS_ROLE = Identity("arn:aws:sts::123456789012:assumed-role/lighthouse-verify/gha", ("lighthouse:verifiers",))
STRANGER = Identity("system:serviceaccount:default:default", ("system:authenticated",))


def _subject_matches(subject: Mapping[str, Any], who: Identity) -> bool:
    if subject["kind"] == "User":
        return bool(subject["name"] == who.user)
    if subject["kind"] == "Group":
        return subject["name"] in who.groups
    return bool(who.user == f"system:serviceaccount:{subject['namespace']}:{subject['name']}")


def _rule_allows(rule: Mapping[str, Any], verb: str, group: str, resource: str, name: str | None) -> bool:
    def has(key: str, value: str) -> bool:
        return value in rule.get(key, []) or "*" in rule.get(key, [])

    names = rule.get("resourceNames") or []
    return (
        has("verbs", verb) and has("apiGroups", group) and has("resources", resource) and (not names or name in names)
    )


def authorised(
    rbac: Sequence[Manifest], who: Identity, verb: str, group: str, resource: str, namespace: str, name: str | None
) -> bool:
    """Kubernetes RBAC for one request: some binding for `who` in `namespace` (or cluster-wide) grants it."""
    for binding in rbac:
        kind = binding["kind"]
        if kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if kind == "RoleBinding" and binding["metadata"].get("namespace") != namespace:
            continue
        if not any(_subject_matches(s, who) for s in binding.get("subjects", [])):
            continue
        ref = binding["roleRef"]
        for role in rbac:
            same_role = role["kind"] == ref["kind"] and role["metadata"]["name"] == ref["name"]
            in_scope = role["kind"] == "ClusterRole" or role["metadata"].get("namespace") == namespace
            if (
                same_role
                and in_scope
                and any(_rule_allows(r, verb, group, resource, name) for r in role.get("rules", []))
            ):
                return True
    return False


# --- the API server ---------------------------------------------------------------------------------------------

#: resource -> (group, version, kind, list kind) for what the fake serves.
RESOURCES = {
    "pods": ("", "v1", "Pod", "PodList"),
    "replicasets": ("apps", "v1", "ReplicaSet", "ReplicaSetList"),
    "rollouts": ("argoproj.io", "v1alpha1", "Rollout", "RolloutList"),
    "analysisruns": ("argoproj.io", "v1alpha1", "AnalysisRun", "AnalysisRunList"),
    "applications": ("argoproj.io", "v1alpha1", "Application", "ApplicationList"),
}


@dataclass(frozen=True)
class Request:
    verb: str
    group: str
    resource: str
    namespace: str
    name: str | None
    selector: str | None


@dataclass
class FakeKube:
    """In-memory objects behind the Kubernetes REST paths; each GET of an Application moves to the next scene."""

    scenes: list[list[Manifest]]
    tokens: dict[str, Identity] = field(default_factory=dict)
    rbac: list[Manifest] = field(default_factory=verifier_rbac)
    requests: list[Request] = field(default_factory=list)
    denied: list[Request] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # status codes to answer the next requests with
    _scene: int = 0

    @property
    def objects(self) -> list[Manifest]:
        return self.scenes[min(self._scene, len(self.scenes) - 1)]

    def handle(self, token: str | None, path: str, query: Mapping[str, list[str]]) -> tuple[int, Any]:
        who = self.tokens.get(token or "")
        if who is None:
            return 401, _status(401, "Unauthorized", "Unauthorized")
        request = _parse(path, query)
        if request is None:
            return 404, _status(404, "NotFound", f"the server could not find the requested resource ({path})")
        self.requests.append(request)
        if self.fail_next:
            code = self.fail_next.pop(0)
            return code, _status(code, "InternalError", "etcdserver: request timed out")
        group, version, kind, list_kind = RESOURCES[request.resource]
        if not authorised(self.rbac, who, request.verb, group, request.resource, request.namespace, request.name):
            self.denied.append(request)
            scope = f'resource "{request.resource}" in API group "{group}" in the namespace "{request.namespace}"'
            message = f'{request.resource} is forbidden: User "{who.user}" cannot {request.verb} {scope}'
            return 403, _status(403, "Forbidden", message)
        found = [
            m
            for m in self.objects
            if m["kind"] == kind
            and m["metadata"].get("namespace") == request.namespace
            and _selects(request.selector, m)
        ]
        if request.name is not None:
            one = next((m for m in found if m["metadata"]["name"] == request.name), None)
            if kind == "Application" and one is not None:
                self._scene += 1
            if one is None:
                return 404, _status(404, "NotFound", f'{request.resource}.{group} "{request.name}" not found')
            return 200, one
        # Lists of built-in kinds carry no apiVersion/kind per item; custom resources do.
        items = [
            m if group == "argoproj.io" else {k: v for k, v in m.items() if k not in ("apiVersion", "kind")}
            for m in found
        ]
        api_version = f"{group}/{version}" if group else version
        return 200, {
            "apiVersion": api_version,
            "kind": list_kind,
            "metadata": {"resourceVersion": "918400"},
            "items": items,
        }


def _parse(path: str, query: Mapping[str, list[str]]) -> Request | None:
    parts = path.strip("/").split("/")
    if parts[:1] == ["api"]:
        group, version, rest = "", parts[1] if len(parts) > 1 else "", parts[2:]
    elif parts[:1] == ["apis"]:
        group, version, rest = (parts[1], parts[2], parts[3:]) if len(parts) > 2 else ("", "", [])
    else:
        return None
    if len(rest) not in (3, 4) or rest[0] != "namespaces" or rest[2] not in RESOURCES:
        return None
    expected_group, expected_version, _, _ = RESOURCES[rest[2]]
    if (group, version) != (expected_group, expected_version):
        return None
    name = rest[3] if len(rest) == 4 else None
    selector = (query.get("labelSelector") or [None])[0]
    return Request("get" if name else "list", group, rest[2], rest[1], name, selector)


def _selects(selector: str | None, obj: Manifest) -> bool:
    """Equality-based label selectors (`a=b,c=d`), the only kind ci/cluster.py sends."""
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value.lstrip("="):
            return False
    return True


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


@contextmanager
def serve(state: FakeKube) -> Iterator[str]:
    """Serve `state` on a free local port; yield its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            header = self.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
            url = urlparse(self.path)
            status, payload = state.handle(token, url.path, parse_qs(url.query))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_kubeconfig(path: Path, server: str, token: str) -> Path:
    """A kubeconfig for `server` with a bearer token, as `kubectl config` writes one."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server}}],
        "users": [{"name": "verifier", "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "verifier"}}],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(config))
    return path
