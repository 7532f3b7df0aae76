"""The server refuses to start, with one clear JSON log line and exit code 2, on a missing or altered model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model.core import artifact
from tests.model.serve.helpers import run_server_to_exit
from tests.model.serve.training import TrainedModel


def refusal(result_stdout: str) -> dict[str, object]:
    lines = [json.loads(line) for line in result_stdout.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["level"] == "error"]
    assert len(errors) == 1, result_stdout
    assert errors[0]["event"] == "startup_failed"
    return errors[0]


@pytest.fixture
def model_copy(trained: TrainedModel, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(trained.model_dir, target)
    return target


def test_missing_model_directory(tmp_path: Path) -> None:
    result = run_server_to_exit(tmp_path / "nowhere")
    assert result.returncode == 2
    message = str(refusal(result.stdout)["message"])
    assert "nowhere/model.json" in message
    assert "not found" in message


def test_missing_artifact(model_copy: Path) -> None:
    (model_copy / artifact.ARTIFACT_NAME).unlink()
    result = run_server_to_exit(model_copy)
    assert result.returncode == 2
    assert "model.skops: model artifact not found" in str(refusal(result.stdout)["message"])


def test_altered_artifact(model_copy: Path) -> None:
    path = model_copy / artifact.ARTIFACT_NAME
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = run_server_to_exit(model_copy)
    assert result.returncode == 2
    message = str(refusal(result.stdout)["message"])
    assert "sha256" in message
    assert "does not match" in message
    assert str(model_copy / artifact.RECORD_NAME) in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("WORKERS", "0"),
        ("MAX_BATCH", "-1"),
        ("LOG_LEVEL", "loud"),
        ("INFERENCE_LOG_SAMPLE_RATE", "1.5"),
        ("INFERENCE_LOG_MAX_QUEUE", "lots"),
        ("INFERENCE_LOG_ROTATE_SECONDS", "0"),
    ],
)
def test_invalid_setting(trained: TrainedModel, variable: str, value: str) -> None:
    result = run_server_to_exit(trained.model_dir, **{variable: value})
    assert result.returncode == 2
    message = str(refusal(result.stdout)["message"])
    assert f"{variable}={value!r}" in message


def test_a_malformed_inference_log_setting_stops_workers_from_starting(trained: TrainedModel) -> None:
    result = run_server_to_exit(trained.model_dir, WORKERS="2", INFERENCE_LOG_MAX_FILES="-3")
    assert result.returncode == 2
    assert "INFERENCE_LOG_MAX_FILES='-3'" in str(refusal(result.stdout)["message"])
    assert "Started parent process" not in result.stdout
