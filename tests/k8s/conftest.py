"""Fixtures for the Kubernetes manifests: rendered overlays (once per session) and the tool binaries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.k8s.manifests import ENVIRONMENTS, K8S_DIR, OVERLAYS_DIR, Manifest, released_copy, render


@pytest.fixture(scope="session")
def kubectl() -> str:
    return require_binary("kubectl")


@pytest.fixture(scope="session")
def released_k8s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """k8s/ as it is after each environment's first promotion (a test digest pinned, the workload added)."""
    return released_copy(K8S_DIR, tmp_path_factory.mktemp("released") / "k8s")


@pytest.fixture(scope="session")
def rendered(kubectl: str, released_k8s: Path) -> dict[str, list[Manifest]]:
    """Each environment's overlay once released, rendered by the real `kubectl kustomize`."""
    return {env: render(released_k8s / "overlays" / env, kubectl) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def rendered_as_committed(kubectl: str) -> dict[str, list[Manifest]]:
    """Each environment's overlay exactly as committed: what a fork's first Argo CD sync applies."""
    return {env: render(OVERLAYS_DIR / env, kubectl) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def rendered_with_monitor(kubectl: str, released_k8s: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    """Released staging with the in-cluster drift monitor (k8s/components/monitor, needs RWX storage) swapped in."""
    copy = tmp_path_factory.mktemp("monitor") / "k8s"
    shutil.copytree(released_k8s, copy)
    kustomization = copy / "overlays" / "staging" / "kustomization.yaml"
    text = kustomization.read_text()
    assert "../../components/inference-log-shipping" in text
    kustomization.write_text(text.replace("../../components/inference-log-shipping", "../../components/monitor"))
    return render(kustomization.parent, kubectl)


@pytest.fixture(scope="session")
def rendered_argocd(kubectl: str) -> list[Manifest]:
    return render(K8S_DIR / "argocd", kubectl)


@pytest.fixture(params=ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> str:
    env: str = request.param
    return env
