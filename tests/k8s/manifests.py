"""Render the kustomize overlays with the real `kubectl kustomize` and look things up in the output."""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = REPO_ROOT / "k8s"
OVERLAYS_DIR = K8S_DIR / "overlays"
SCHEMAS_DIR = K8S_DIR / "schemas"
ENVIRONMENTS = ("staging", "production")

Manifest = dict[str, Any]

#: Kinds validated by kubernetes-validate (the rest need a schema in k8s/schemas).
CORE_API_GROUPS = (
    "v1",
    "apps/v1",
    "batch/v1",
    "autoscaling/v2",
    "policy/v1",
    "networking.k8s.io/v1",
    "rbac.authorization.k8s.io/v1",
)


#: The digest the rendered overlays are pinned to in tests: what an overlay looks like after its first promotion.
RELEASED_DIGEST = "sha256:" + "ab" * 32


def released_copy(source: Path, destination: Path, digest: str = RELEASED_DIGEST) -> Path:
    """A copy of k8s/ with every overlay edited as its first promotion edits it (ci.overlay: pin, drop unreleased).

    The committed overlays run no workload before their first release (k8s/components/unreleased); the checks on
    the workload need it rendered as it will run.
    """
    from ci import overlay

    shutil.copytree(source, destination)
    for kustomization in sorted((destination / "overlays").glob("*/kustomization.yaml")):
        text = kustomization.read_text()
        entry = overlay.pinned_image(text, str(kustomization))
        text = overlay.pin_image(text, str(kustomization), entry.repository, digest)
        kustomization.write_text(overlay.drop_unreleased(text, str(kustomization)))
    return destination


class RenderError(RuntimeError):
    """`kubectl kustomize` refused a kustomization."""


def render(kustomization_dir: Path, kubectl: str) -> list[Manifest]:
    """Build `kustomization_dir` exactly as Argo CD would and return its documents."""
    proc = subprocess.run(
        [kubectl, "kustomize", str(kustomization_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RenderError(f"kubectl kustomize {kustomization_dir} failed:\n{proc.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def ref(manifest: Manifest) -> str:
    """`Kind/name`, how problems name a resource."""
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


def of_kind(manifests: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def only(manifests: Iterable[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The one resource of `kind` (and `name`); an error names what was found instead."""
    found = [m for m in of_kind(manifests, kind) if name is None or m["metadata"]["name"] == name]
    if len(found) != 1:
        raise LookupError(f"expected exactly one {kind}{'/' + name if name else ''}, found {[ref(m) for m in found]}")
    return found[0]


def is_core(manifest: Manifest) -> bool:
    return manifest["apiVersion"] in CORE_API_GROUPS


def rollout_as_deployment(rollout: Manifest) -> Manifest:
    """The Rollout's pod template inside an apps/v1 Deployment.

    Policy scanners and kubernetes-validate know Deployments but not Rollouts: without this they would report
    green on the Rollout without looking at its pods.
    """
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            key: copy.deepcopy(rollout["metadata"][key])
            for key in ("name", "namespace", "labels")
            if key in rollout["metadata"]
        },
        "spec": {
            "selector": copy.deepcopy(rollout["spec"]["selector"]),
            "template": copy.deepcopy(rollout["spec"]["template"]),
        },
    }


def dump_all(manifests: Iterable[Manifest]) -> str:
    return yaml.safe_dump_all(list(manifests), sort_keys=False)
