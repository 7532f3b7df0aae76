"""Fixtures for the Kubernetes manifests: rendered overlays (once per session) and the tool binaries."""

from __future__ import annotations

import pytest

from tests.conftest import require_binary
from tests.k8s.manifests import ENVIRONMENTS, K8S_DIR, OVERLAYS_DIR, Manifest, render


@pytest.fixture(scope="session")
def kubectl() -> str:
    return require_binary("kubectl")


@pytest.fixture(scope="session")
def rendered(kubectl: str) -> dict[str, list[Manifest]]:
    """Each environment's overlay, rendered by the real `kubectl kustomize`."""
    return {env: render(OVERLAYS_DIR / env, kubectl) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def rendered_argocd(kubectl: str) -> list[Manifest]:
    return render(K8S_DIR / "argocd", kubectl)


@pytest.fixture(params=ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> str:
    env: str = request.param
    return env
