"""Copies of the project in a temporary directory, with their own git repo, DVC cache and MLflow store, so the
pipeline can be run for real (`dvc repro`) without touching the working tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What a pipeline run needs; outputs, dvc.lock and caches are left behind so the copy starts cold.
PIPELINE_FILES = (
    "dvc.yaml",
    "params.yaml",
    "data/contract.yaml",
    "model",
    "ci",
    "tests/gates",
    "tests/conftest.py",
    "tests/serving_fixtures.py",  # a plugin tests/conftest.py loads
    "tests/__init__.py",
    "k8s/overlays/production",  # the champion stage depends on it (its release.json is the champion)
    ".dvc/config",
    ".dvcignore",
    "pyproject.toml",
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Lighthouse Test",
    "GIT_AUTHOR_EMAIL": "test@lighthouse.invalid",
    "GIT_COMMITTER_NAME": "Lighthouse Test",
    "GIT_COMMITTER_EMAIL": "test@lighthouse.invalid",
}


def project_env(**extra: str) -> dict[str, str]:
    """The environment a stage sees under `make pipeline`: the venv first on PATH, telemetry off, local MLflow."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update(GIT_IDENTITY)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DVC_NO_ANALYTICS="1", DO_NOT_TRACK="1")
    env.update(extra)
    return env


def copy_project(dst: Path, files: tuple[str, ...] = PIPELINE_FILES) -> Path:
    """Copy the pipeline's sources into `dst`, make it a git repo with one commit, and return it."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in files:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    (dst / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (dst / ".gitignore").write_text("/mlflow.db\n/mlartifacts/\n/models/registration.json\n")
    git(dst, "init", "--quiet", "--initial-branch=main")
    git(dst, "add", "-A")
    git(dst, "commit", "--quiet", "-m", "test project")
    return dst


def clone_built(src: Path, dst: Path) -> Path:
    """A copy of an already-built project (outputs, caches, MLflow store), for a test that changes it."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, env=project_env(), check=True, capture_output=True, text=True
    ).stdout


def dvc(project: Path, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), *args],
        cwd=project,
        env=project_env(**env),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def stages_run(output: str) -> list[str]:
    """The stages `dvc repro` actually ran, in order."""
    return re.findall(r"Running stage '([^']+)'", output)
