"""ci.cluster through the real `kubernetes` client, against a Kubernetes API on 127.0.0.1 that serves the
real-shaped objects at the real paths and enforces k8s/verifier's RBAC (tests/ci/cluster.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci.cluster import READS, AppRef, Cluster, ClusterError
from ci.verdict import decide
from tests.ci.cluster import (
    EKS_ROLE,
    SCENARIOS,
    SERVICE_ACCOUNT,
    STRANGER,
    FakeKube,
    objects,
    serve,
    snapshot,
    write_kubeconfig,
)
from tests.ci.test_verdict import EXPECTED, relation
from tests.ci.test_verdict import verdict as direct_verdict

APP = AppRef("argocd", "lighthouse-staging")
TOKENS = {"sa-token": SERVICE_ACCOUNT, "eks-token": EKS_ROLE, "stranger-token": STRANGER}


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[tuple[FakeKube, Path]]:
    state = FakeKube([objects("healthy")], tokens=TOKENS)
    with serve(state) as url:
        yield state, write_kubeconfig(tmp_path / "kubeconfig", url, "sa-token")


def connect(kubeconfig: Path) -> Cluster:
    return Cluster.connect(kubeconfig)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_verdict_over_http_equals_the_verdict_on_the_objects(scenario: str, tmp_path: Path) -> None:
    """Nothing the decision needs is lost between the API's JSON, the client's models and back."""
    state = FakeKube([objects(scenario)], tokens=TOKENS)
    with serve(state) as url:
        snap = connect(write_kubeconfig(tmp_path / "kubeconfig", url, "sa-token")).snapshot(APP)
    assert decide(EXPECTED, snap, relation) == direct_verdict(snapshot(scenario))
    assert not state.denied


def test_the_snapshot_reads_the_objects_through_the_typed_client(kube: tuple[FakeKube, Path]) -> None:
    _state, kubeconfig = kube
    snap = connect(kubeconfig).snapshot(APP)
    assert snap.application is not None
    assert snap.application["status"]["sync"]["status"] == "Synced"
    assert snap.rollout is not None
    assert snap.rollout["status"]["stableRS"] == "7c6b9d8f54"
    assert sorted(p["metadata"]["name"] for p in snap.pods) == [
        "model-server-7c6b9d8f54-4xq2p",
        "model-server-7c6b9d8f54-9kz7m",
    ]
    pod = snap.pods[0]
    assert pod["status"]["containerStatuses"][0]["imageID"].endswith(EXPECTED.digest)  # camelCase, as the API serves it
    assert pod["metadata"]["creationTimestamp"].startswith("2026-11-12T10:")  # parsed to a datetime and back
    assert {rs["metadata"]["name"] for rs in snap.replica_sets} == {
        "model-server-7c6b9d8f54",
        "model-server-5d8f7c9b46",
    }
    assert [r["metadata"]["name"] for r in snap.analysis_runs] == ["model-server-7c6b9d8f54-4-2"]


def test_it_makes_exactly_the_reads_it_declares(kube: tuple[FakeKube, Path]) -> None:
    """Paths, group/versions, verbs and selectors as a real API server sees them; READS is what the RBAC grants."""
    state, kubeconfig = kube
    connect(kubeconfig).snapshot(APP)
    made = {(r.group, r.resource, r.verb) for r in state.requests}
    assert made == READS
    by_resource = {r.resource: r for r in state.requests}
    assert (by_resource["applications"].namespace, by_resource["applications"].name) == ("argocd", "lighthouse-staging")
    assert (by_resource["rollouts"].namespace, by_resource["rollouts"].name) == ("lighthouse-staging", "model-server")
    assert by_resource["pods"].selector == "app.kubernetes.io/name=model-server"
    assert by_resource["replicasets"].selector == "app.kubernetes.io/name=model-server"
    assert by_resource["analysisruns"].selector == "rollouts-pod-template-hash=7c6b9d8f54"


@pytest.mark.parametrize("token", ["sa-token", "eks-token"])
def test_both_identities_of_k8s_verifier_may_read_everything_it_needs(token: str, tmp_path: Path) -> None:
    state = FakeKube([objects("healthy")], tokens=TOKENS)
    with serve(state) as url:
        connect(write_kubeconfig(tmp_path / "kubeconfig", url, token)).snapshot(APP)
    assert state.denied == []
    assert len(state.requests) == 5


def test_the_verifier_may_not_read_another_application(kube: tuple[FakeKube, Path]) -> None:
    _state, kubeconfig = kube
    with pytest.raises(ClusterError, match="HTTP 403") as caught:
        connect(kubeconfig).application(AppRef("argocd", "someone-elses-app"))
    assert not caught.value.transient


def test_forbidden_names_the_fix_and_is_not_retried(kube: tuple[FakeKube, Path], tmp_path: Path) -> None:
    state, _ = kube
    with serve(state) as server:
        cluster = connect(write_kubeconfig(tmp_path / "stranger", server, "stranger-token"))
        with pytest.raises(
            ClusterError, match=r"get Application argocd/lighthouse-staging: HTTP 403.*k8s/verifier"
        ) as caught:
            cluster.snapshot(APP)
    assert caught.value.status == 403
    assert not caught.value.transient


def test_a_missing_application_is_none_not_an_error(kube: tuple[FakeKube, Path]) -> None:
    state, kubeconfig = kube
    state.scenes = [[o for o in objects("healthy") if o["kind"] != "Application"]]
    snap = connect(kubeconfig).snapshot(APP)
    assert snap.application is None
    assert snap.rollout is None


def test_a_server_error_is_transient(kube: tuple[FakeKube, Path]) -> None:
    state, kubeconfig = kube
    state.fail_next = [500]
    with pytest.raises(ClusterError, match="HTTP 500") as caught:
        connect(kubeconfig).snapshot(APP)
    assert caught.value.transient


def test_an_unreachable_api_is_transient(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the client connects: nobody listens there
    cluster = connect(write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}", "sa-token"))
    with pytest.raises(ClusterError) as caught:
        cluster.snapshot(APP)
    assert caught.value.transient


def test_a_broken_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "kubeconfig"
    broken.write_text("apiVersion: v1\nkind: Config\ncontexts: []\n")
    with pytest.raises(ClusterError, match="kubernetes credentials"):
        Cluster.connect(broken)
