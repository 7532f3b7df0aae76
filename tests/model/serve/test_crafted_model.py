"""A crafted or corrupt model file never runs and never serves: `python -m model.serve --check`, the server at
start-up and `python -m model.batch` each refuse it with exit code 2 and one line naming the file and the problem
(a JSON log line for the server), and the payload's marker file is never created."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.model.crafted_skops import PAYLOADS, corrupt, plant
from tests.model.serve.helpers import ROOT, run_server_to_exit, server_env
from tests.model.serve.training import TrainedModel

TIMEOUT = 120.0


@pytest.fixture
def model_copy(trained: TrainedModel, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(trained.model_dir, target)
    return target


def only_json_line(output: str) -> dict[str, object]:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    line = json.loads(lines[0])
    assert line["event"] == "startup_failed", line
    return line


def check(model_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "model.serve", "--check"],
        cwd=ROOT,
        env=server_env(model_dir, 1, **env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def batch(model_dir: Path, tmp_path: Path, trained: TrainedModel) -> subprocess.CompletedProcess[str]:
    rows = tmp_path / "rows.csv"
    trained.x_test.head(5).to_csv(rows, index=False)
    return subprocess.run(
        [sys.executable, "-m", "model.batch", str(rows), str(tmp_path / "out.csv"), "--model-dir", str(model_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_check_refuses_a_crafted_model(model_copy: Path, tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "payload-ran"
    plant(model_copy, payload, marker)
    result = check(model_copy)
    assert result.returncode == 2, result.stdout + result.stderr
    line = only_json_line(result.stdout)
    assert payload in str(line["message"])
    assert "model.skops" in str(line["message"])
    assert not marker.exists(), "the payload ran"


def test_the_server_refuses_a_crafted_model_at_start(model_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    plant(model_copy, "builtins.exec", marker)
    result = run_server_to_exit(model_copy, timeout=TIMEOUT)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "builtins.exec" in str(only_json_line(result.stdout)["message"])
    assert not marker.exists(), "the payload ran"


def test_batch_refuses_a_crafted_model(model_copy: Path, tmp_path: Path, trained: TrainedModel) -> None:
    marker = tmp_path / "payload-ran"
    plant(model_copy, "builtins.exec", marker)
    result = batch(model_copy, tmp_path, trained)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "builtins.exec" in result.stderr
    assert not (tmp_path / "out.csv").exists()
    assert not marker.exists(), "the payload ran"


def test_a_corrupt_model_with_a_matching_sha_is_refused_cleanly(
    model_copy: Path, tmp_path: Path, trained: TrainedModel
) -> None:
    corrupt(model_copy)
    checked = check(model_copy)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "not a valid skops archive" in str(only_json_line(checked.stdout)["message"])
    assert "Traceback" not in checked.stdout + checked.stderr
    started = run_server_to_exit(model_copy, timeout=TIMEOUT)
    assert started.returncode == 2, started.stdout + started.stderr
    assert "not a valid skops archive" in str(only_json_line(started.stdout)["message"])
    scored = batch(model_copy, tmp_path, trained)
    assert scored.returncode == 2, scored.stderr
    assert "not a valid skops archive" in scored.stderr
    assert "Traceback" not in scored.stderr
