"""Session fixtures of the image tests: the engine, the base, and each image built once per session.

The serving image is built from the repository's real Dockerfile and sources, with the session's trained model
(tests/serving_fixtures.py) in place of the pipeline's outputs, so the tests hold on a clean clone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.images import local_base
from tests.images.engine import Engine, require_engine
from tests.model.serve.training import TrainedModel
from tests.pipeline_project import ROOT

#: Build times go to the terminal summary (never asserted: this machine is shared).
TIMINGS: dict[str, float] = {}


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    base: str  # the PYTHON_IMAGE the build used
    build_args: dict[str, str]


def public_base(dockerfile: Path) -> str:
    """The digest-pinned default of the Dockerfile's PYTHON_IMAGE argument (what GitHub's runners build from)."""
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{dockerfile}: no ARG PYTHON_IMAGE default"
    return match.group(1)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return require_engine()


@pytest.fixture(scope="session")
def base_image(engine: Engine) -> str | None:
    """The local debootstrap base for podman; None for docker, which pulls the Dockerfile's pinned base."""
    if engine.name != "podman":
        return None
    for tool in ("debootstrap",):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to make the local base image")
    started = time.monotonic()
    ref = local_base.build(engine.cli)
    TIMINGS["local base (cached when unchanged)"] = time.monotonic() - started
    return ref


def test_tag(name: str) -> str:
    """One tag per image, moved by each session and never removed: removing it would also remove the untagged
    intermediate layers `--layers` caches, and the next session would install every wheel again.
    (`podman image prune` reclaims the layers of superseded builds.)"""
    return f"localhost/lighthouse-test-{name}:latest"


def model_facts(model_dir: Path) -> dict[str, str]:
    """What `python -m model.serve --check` says about a model: the labels `make image` passes as build args."""
    result = subprocess.run(
        [sys.executable, "-m", "model.serve", "--check"],
        cwd=ROOT,
        env={**os.environ, "MODEL_DIR": str(model_dir), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    facts: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return facts


def serving_context(model: TrainedModel, dst: Path) -> Path:
    """A build context holding what .dockerignore admits, with the trained model as models/."""
    for name in ("Dockerfile", ".dockerignore", "requirements", "model", "params.yaml", "data/contract.yaml"):
        source, target = ROOT / name, dst / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    shutil.copytree(model.model_dir, dst / "models")
    return dst


@pytest.fixture(scope="session")
def serving_image(
    engine: Engine, base_image: str | None, trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> BuiltImage:
    context = serving_context(trained, tmp_path_factory.mktemp("serving-context"))
    facts = model_facts(trained.model_dir)
    args = {"GIT_SHA": facts["git_sha"], "MODEL_VERSION": facts["model_version"], "DATA_HASH": facts["data_hash"]}
    tag = test_tag("serve")
    started = time.monotonic()
    engine.build(context, tag, build_args=args, base_image=base_image)
    TIMINGS["serving image build"] = time.monotonic() - started
    return BuiltImage(tag, base_image or public_base(ROOT / "Dockerfile"), args)


@pytest.fixture(scope="session")
def training_image(engine: Engine, base_image: str | None) -> BuiltImage:
    """Dockerfile.train built from the repository itself (its ignore file picks a checkout's pipeline files)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("the training image records the commit it is built from: needs a git checkout")
    args = {"GIT_SHA": head.stdout.strip()}
    tag = test_tag("train")
    started = time.monotonic()
    engine.build(ROOT, tag, dockerfile="Dockerfile.train", build_args=args, base_image=base_image)
    TIMINGS["training image build"] = time.monotonic() - started
    return BuiltImage(tag, base_image or public_base(ROOT / "Dockerfile.train"), args)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for what, seconds in TIMINGS.items():
        terminalreporter.write_line(f"images: {what}: {seconds:.0f} s")
