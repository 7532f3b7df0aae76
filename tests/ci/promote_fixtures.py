"""Real git repositories for the promotion tests: a bare origin, clones of it, overlays and release facts.

Plain helpers rather than a conftest, so the parallel `tests/ci` work of other issues cannot collide with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
IMAGE_NAME = "ghcr.io/example/mlops-lighthouse"
REPOSITORY = "ghcr.io/acme/lighthouse"
OVERLAYS = "k8s/overlays"
#: The identity every clone promotes as (CI's bot in a real repository); a forger gets their own.
PROMOTER_EMAIL = "promoter@example.test"

#: Until its first release an overlay lists this component, which removes the workload (k8s/components/unreleased).
UNRELEASED = """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - target: {kind: Deployment, name: lighthouse}
    patch: |-
      $patch: delete
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: lighthouse
"""

BASE_KUSTOMIZATION = """\
# Base: the manifests every environment shares.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
"""

DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: lighthouse
spec:
  selector:
    matchLabels: {{app: lighthouse}}
  template:
    metadata:
      labels: {{app: lighthouse}}
    spec:
      containers:
        - name: server
          image: {IMAGE_NAME}:latest
"""


def overlay_kustomization(env: str) -> str:
    return f"""\
# {env} overlay: the base plus what differs in {env}.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: lighthouse-{env}

resources:
  - ../../base   # the shared manifests

components:
  - ../../components/unreleased  # ci.promote drops this line with the first release

images:
  # ci.promote pins the digest here; do not edit by hand.
  - name: {IMAGE_NAME}
    newName: {IMAGE_NAME}   # a fork sets its own GHCR path
    newTag: latest

labels:
  - pairs:
      env: {env}
"""


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "LC_ALL": "C"}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)} in {cwd}: {proc.stderr}"
    return proc.stdout.strip()


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


class GitOpsRepo:
    """A bare `origin` seeded with a base and two overlays; `clone()` gives independent working copies."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.origin = tmp_path / "origin.git"
        git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(self.origin))
        seed = self.clone("seed")
        (seed / "k8s/base").mkdir(parents=True)
        (seed / "k8s/base/kustomization.yaml").write_text(BASE_KUSTOMIZATION)
        (seed / "k8s/base/deployment.yaml").write_text(DEPLOYMENT)
        (seed / "k8s/components/unreleased").mkdir(parents=True)
        (seed / "k8s/components/unreleased/kustomization.yaml").write_text(UNRELEASED)
        for env in ("staging", "production"):
            (seed / OVERLAYS / env).mkdir(parents=True)
            (seed / OVERLAYS / env / "kustomization.yaml").write_text(overlay_kustomization(env))
        (seed / "params.yaml").write_text("tracking:\n  registered_model: lighthouse-model\n")
        (seed / "notes.txt").write_text("unrelated file other people change\n")
        git(seed, "add", "-A")
        git(seed, "commit", "--quiet", "-m", "Seed: base and overlays")
        git(seed, "push", "--quiet", "origin", "HEAD:main")

    def clone(self, name: str, email: str = PROMOTER_EMAIL) -> Path:
        """A working copy; every clone commits as the promotion identity unless given another `email`."""
        path = self.tmp / name
        git(self.tmp, "clone", "--quiet", str(self.origin), str(path))
        git(path, "config", "user.name", f"tester {name}")
        git(path, "config", "user.email", email)
        return path

    def origin_log(self, *paths: str) -> list[str]:
        """Commits on origin/main, newest first (optionally only those touching `paths`)."""
        out = git(self.origin, "log", "--format=%H", "main", "--", *paths)
        return out.split() if out else []

    def origin_file(self, rev: str, path: str) -> str | None:
        proc = subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=self.origin, capture_output=True, text=True, check=False
        )
        return proc.stdout if proc.returncode == 0 else None


def write_facts(
    directory: Path,
    *,
    model_sha256: str,
    passed: bool = True,
    version: str | None = "3",
    tracking: str = "server",
    run_id: str = "0123456789abcdef0123456789abcdef",
) -> dict[str, Path]:
    """The pipeline's outputs a promotion reads, as the gates and register stages write them."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "metrics": {"roc_auc": 0.7021, "pr_auc": 0.907686, "f1": 0.904863, "accuracy": 0.82785},
        "fairness": {
            "colour": {"demographic_parity_difference": 0.081, "equalized_odds_difference": 0.19, "groups": ["a"]}
        },
        "gates": {
            "passed": passed,
            "gates": [
                {"name": "roc_auc_min", "passed": True},
                {"name": "demographic_parity_max", "passed": passed},
            ],
        },
        "model_record": {
            "sha256": model_sha256,
            "data_hash": "5f2b1c0e9d8a7b6c5d4e3f2a1b0c9d8e",
            "git_sha": "1234567890abcdef1234567890abcdef12345678",
            "mlflow_run_id": run_id,
        },
        "registration": {
            "name": "lighthouse-model",
            "version": version,
            "alias": "challenger",
            "run_id": run_id,
            "sha256": model_sha256,
            "tracking": tracking,
        },
    }
    paths = {}
    for key, content in files.items():
        paths[key] = directory / f"{key}.json"
        paths[key].write_text(json.dumps(content))
    return paths


def facts_args(facts: dict[str, Path]) -> list[str]:
    return [
        "--metrics",
        str(facts["metrics"]),
        "--fairness",
        str(facts["fairness"]),
        "--gates",
        str(facts["gates"]),
        "--model-record",
        str(facts["model_record"]),
        "--registration",
        str(facts["registration"]),
    ]


#: Variables a GitHub Actions runner sets that would make the tool write step outputs or call services.
ACTIONS_VARS = (
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ACTOR",
    "GITHUB_RUN_ID",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "MLFLOW_TRACKING_URI",
    "LIGHTHOUSE_TRUSTED_IDENTITIES",
    "LIGHTHOUSE_PROMOTION_IDENTITY",
    "LIGHTHOUSE_PUSH_TOKEN",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ACTIONS_VARS}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(extra)
    return env


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m ci.promote ARGS` in a clone, as a workflow step runs it."""
    return subprocess.run(
        [sys.executable, "-m", "ci.promote", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean_env(**env),
        timeout=300,
        check=False,
    )
