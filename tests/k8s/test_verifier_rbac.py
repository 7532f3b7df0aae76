"""k8s/verifier: the read-only RBAC of ci.verify and ci.consistency, rendered and checked like the overlays
(kubectl kustomize, kubernetes-validate --strict, checkov), and held to least privilege: it grants exactly the
(API group, resource, verb) triples ci/cluster.py declares in READS, in exactly the namespaces the Argo CD
Applications deploy to, on exactly their Applications. tests/ci/test_cluster.py proves the other direction: every
request the kubernetes client makes is allowed by these objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ci.cluster import READS
from tests.ci.cluster import EKS_ROLE, SERVICE_ACCOUNT, verifier_rbac
from tests.k8s.manifests import K8S_DIR, Manifest, dump_all, of_kind, render
from tests.k8s.test_policy import scan
from tests.k8s.test_render import validation_errors

VERIFIER = K8S_DIR / "verifier"


@pytest.fixture(scope="module")
def rendered_verifier(kubectl: str) -> list[Manifest]:
    return render(VERIFIER, kubectl)


def rules(manifests: list[Manifest]) -> list[dict[str, object]]:
    return [rule for role in manifests if role["kind"] in ("Role", "ClusterRole") for rule in role.get("rules", [])]


def test_it_renders_to_exactly_its_files(rendered_verifier: list[Manifest]) -> None:
    """The fake API server of tests/ci enforces the files as written: kustomize must change nothing in them."""
    key = lambda m: (m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"])  # noqa: E731
    assert sorted(rendered_verifier, key=key) == sorted(verifier_rbac(), key=key)


def test_every_object_validates_strictly(rendered_verifier: list[Manifest]) -> None:
    assert {m["kind"] for m in rendered_verifier} == {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "Role",
        "RoleBinding",
    }
    assert [e for m in rendered_verifier for e in validation_errors(m)] == []


def test_it_grants_exactly_what_the_verifier_reads(rendered_verifier: list[Manifest]) -> None:
    granted = {
        (group, resource, verb)
        for rule in rules(rendered_verifier)
        for group in rule["apiGroups"]  # type: ignore[attr-defined]
        for resource in rule["resources"]  # type: ignore[attr-defined]
        for verb in rule["verbs"]  # type: ignore[attr-defined]
    }
    assert granted == READS
    text = json.dumps(rendered_verifier)
    assert '"*"' not in text
    assert "secrets" not in text


def test_it_reaches_only_the_applications_and_their_namespaces(
    rendered_verifier: list[Manifest], rendered_argocd: list[Manifest]
) -> None:
    applications = of_kind(rendered_argocd, "Application")
    destinations = {app["spec"]["destination"]["namespace"] for app in applications}
    assert of_kind(rendered_verifier, "ClusterRoleBinding") == []  # the ClusterRole is granted per namespace only
    bindings = of_kind(rendered_verifier, "RoleBinding")
    (app_namespace,) = {app["metadata"]["namespace"] for app in applications}
    assert {b["metadata"]["namespace"] for b in bindings} == destinations | {app_namespace}
    (role,) = of_kind(rendered_verifier, "Role")
    assert role["metadata"]["namespace"] == app_namespace
    (rule,) = role["rules"]
    assert sorted(rule["resourceNames"]) == sorted(app["metadata"]["name"] for app in applications)
    for binding in bindings:
        kind = "Role" if binding["metadata"]["namespace"] == app_namespace else "ClusterRole"
        assert binding["roleRef"]["kind"] == kind


def test_both_identities_are_bound_everywhere(rendered_verifier: list[Manifest]) -> None:
    """OIDC (the EKS access entry's group) and the kubeconfig secret (the ServiceAccount) get the same access."""
    (account,) = of_kind(rendered_verifier, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    expected_user = f"system:serviceaccount:{account['metadata']['namespace']}:{account['metadata']['name']}"
    assert expected_user == SERVICE_ACCOUNT.user
    for binding in of_kind(rendered_verifier, "RoleBinding"):
        subjects = {(s["kind"], s.get("namespace", ""), s["name"]) for s in binding["subjects"]}
        assert subjects == {
            ("ServiceAccount", account["metadata"]["namespace"], account["metadata"]["name"]),
            ("Group", "", EKS_ROLE.groups[0]),
        }


def test_checkov_passes_the_verifier_and_fails_a_wildcard(rendered_verifier: list[Manifest], tmp_path: Path) -> None:
    weakened = yaml.safe_load(
        """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: weakened-verifier}
        rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
        """
    )
    (tmp_path / "verifier.yaml").write_text(dump_all([*rendered_verifier, weakened]))
    results = scan(tmp_path)
    ours = {r: o for r, o in results.items() if "weakened" not in r}
    assert "ClusterRole.default.lighthouse-verifier-workload" in ours
    assert ours["ClusterRole.default.lighthouse-verifier-workload"]["passed"] >= {
        "CKV_K8S_49",
        "CKV_K8S_157",
        "CKV_K8S_158",
    }
    assert {r: o["failed"] for r, o in ours.items() if o["failed"]} == {}
    assert results["ClusterRole.default.weakened-verifier"]["failed"] >= {"CKV_K8S_49", "CKV_K8S_157", "CKV_K8S_158"}
