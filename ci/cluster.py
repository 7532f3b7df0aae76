"""The cluster as ci.verify and ci.consistency read it: a thin layer over the `kubernetes` Python client.

Only reads, and only the kinds in READS; k8s/verifier grants exactly those verbs (tests/k8s/test_verifier_rbac.py
holds the two together). The objects come back as the API serves them (camelCase dicts), so ci/verdict.py decides
on the same shapes kubectl shows. Typed core objects go through the client's own models and back, which checks
their shape on the way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci.verdict import Manifest, Snapshot
from model.core.errors import LighthouseError

ARGO_GROUP = "argoproj.io"
ARGO_VERSION = "v1alpha1"
REQUEST_TIMEOUT_S = 30

#: (API group, resource, verb) for every request this module makes: the verifier's RBAC grants exactly these.
READS = frozenset(
    {
        (ARGO_GROUP, "applications", "get"),
        (ARGO_GROUP, "rollouts", "get"),
        (ARGO_GROUP, "analysisruns", "list"),
        ("apps", "replicasets", "list"),
        ("", "pods", "list"),
    }
)


class ClusterError(LighthouseError):
    """The Kubernetes API refused or failed a read."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """Worth another try at the next poll (no answer, or a server error), unlike 401/403/4xx."""
        return self.status is None or self.status >= 500 or self.status == 429


@dataclass(frozen=True)
class AppRef:
    """Where the Argo CD Application of an environment lives."""

    namespace: str
    name: str


class Cluster:
    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self._api = api_client
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)

    @classmethod
    def connect(cls, kubeconfig: Path | None = None, context: str | None = None) -> Cluster:
        """From a kubeconfig (`--kubeconfig`, $KUBECONFIG, ~/.kube/config), else the pod's service account."""
        import kubernetes.config

        config: Any = kubernetes.config  # its loaders carry no annotations
        path = kubeconfig or (Path(os.environ["KUBECONFIG"]) if os.environ.get("KUBECONFIG") else None)
        default = Path(os.path.expanduser(config.KUBE_CONFIG_DEFAULT_LOCATION))
        try:
            if path is not None or default.exists():
                return cls(config.new_client_from_config(config_file=str(path or default), context=context))
            config.load_incluster_config()
        except config.ConfigException as exc:
            raise ClusterError(f"kubernetes credentials: {exc}") from exc
        from kubernetes import client

        return cls(client.ApiClient())

    # --- reads ---------------------------------------------------------------------------------------------------

    def application(self, ref: AppRef) -> Manifest | None:
        found: Manifest | None = self._call(
            f"get Application {ref.namespace}/{ref.name}",
            self._custom.get_namespaced_custom_object,
            ARGO_GROUP,
            ARGO_VERSION,
            ref.namespace,
            "applications",
            ref.name,
        )
        return found

    def rollout(self, namespace: str, name: str) -> Manifest | None:
        found: Manifest | None = self._call(
            f"get Rollout {namespace}/{name}",
            self._custom.get_namespaced_custom_object,
            ARGO_GROUP,
            ARGO_VERSION,
            namespace,
            "rollouts",
            name,
        )
        return found

    def analysis_runs(self, namespace: str, selector: str) -> list[Manifest]:
        answer = self._call(
            f"list AnalysisRuns in {namespace}",
            self._custom.list_namespaced_custom_object,
            ARGO_GROUP,
            ARGO_VERSION,
            namespace,
            "analysisruns",
            label_selector=selector,
        )
        return list((answer or {}).get("items") or [])

    def replica_sets(self, namespace: str, selector: str) -> list[Manifest]:
        answer = self._call(
            f"list ReplicaSets in {namespace}",
            self._apps.list_namespaced_replica_set,
            namespace,
            label_selector=selector,
        )
        return self._items(answer)

    def pods(self, namespace: str, selector: str) -> list[Manifest]:
        answer = self._call(
            f"list Pods in {namespace}", self._core.list_namespaced_pod, namespace, label_selector=selector
        )
        return self._items(answer)

    def snapshot(self, app: AppRef) -> Snapshot:
        """One look at everything the verdict needs: the Application, then the Rollout it manages and its parts."""
        application = self.application(app)
        if application is None:
            return Snapshot(None, None)
        located = rollout_of(application)
        if located is None:
            return Snapshot(application, None)
        namespace, name = located
        rollout = self.rollout(namespace, name)
        if rollout is None:
            return Snapshot(application, None)
        selector = label_selector(rollout)
        pod_hash = (rollout.get("status") or {}).get("currentPodHash")
        runs = self.analysis_runs(namespace, f"rollouts-pod-template-hash={pod_hash}") if pod_hash else []
        return Snapshot(
            application,
            rollout,
            replica_sets=self.replica_sets(namespace, selector),
            pods=self.pods(namespace, selector),
            analysis_runs=runs,
        )

    # --- plumbing ------------------------------------------------------------------------------------------------

    def _items(self, answer: Any) -> list[Manifest]:
        """A typed list's items as the API served them (camelCase dicts)."""
        if answer is None:
            return []
        data = self._api.sanitize_for_serialization(answer)
        return list(data.get("items") or [])

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return method(*args, _request_timeout=REQUEST_TIMEOUT_S, **kwargs)
        except ApiException as exc:
            if exc.status == 404:
                return None
            hint = (
                " (apply k8s/verifier and bind these credentials to it, docs/kubernetes.md)"
                if exc.status == 403
                else ""
            )
            raise ClusterError(f"{what}: HTTP {exc.status} {exc.reason}{hint}", status=exc.status) from exc
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"{what}: {exc}") from exc


def rollout_of(application: Manifest) -> tuple[str, str] | None:
    """(namespace, name) of the one Rollout the Application manages, from its `status.resources`."""
    destination = ((application.get("spec") or {}).get("destination") or {}).get("namespace", "")
    found = [
        (str(r.get("namespace") or destination), str(r["name"]))
        for r in (application.get("status") or {}).get("resources") or []
        if r.get("group") == ARGO_GROUP and r.get("kind") == "Rollout"
    ]
    return found[0] if len(found) == 1 else None


def label_selector(rollout: Manifest) -> str:
    """The Rollout's `spec.selector.matchLabels` as a label selector string (what its ReplicaSets and pods carry)."""
    labels = ((rollout.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
