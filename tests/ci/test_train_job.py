"""ci.train_job without a container: configuration errors, and --verify's comparison of restored outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci import train_job
from model.core import paths

RECORD = {"sha256": "a" * 64, "data_hash": "b" * 32, "git_sha": "c" * 40}


def write_project(root: Path, record: dict[str, str]) -> Path:
    (root / paths.MODEL_RECORD).parent.mkdir(parents=True, exist_ok=True)
    (root / paths.MODEL_RECORD).write_text(json.dumps(record))
    return root


def summary_file(root: Path, **overrides: str) -> Path:
    summary = {"model_sha256": RECORD["sha256"], "data_hash": RECORD["data_hash"], "git_sha": RECORD["git_sha"]}
    path = root / "job.log"
    path.write_text("dvc output...\n" + json.dumps({**summary, **overrides}) + "\n")  # the summary is the last line
    return path


def test_verify_accepts_the_jobs_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path / "p", RECORD)
    assert train_job.verify(summary_file(tmp_path), project) == 0
    assert "restored the job's model aaaaaaaaaaaa" in capsys.readouterr().out


@pytest.mark.parametrize("field", ["model_sha256", "data_hash", "git_sha"])
def test_verify_refuses_anything_else(field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path / "p", RECORD)
    assert train_job.verify(summary_file(tmp_path, **{field: "0" * 8}), project) == 1
    assert field in capsys.readouterr().err


def test_the_job_needs_a_remote(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DVC_REMOTE_URL", raising=False)
    assert train_job.main([]) == 2
    assert "DVC_REMOTE_URL is not set" in capsys.readouterr().err


def test_a_used_workspace_is_refused(tmp_path: Path) -> None:
    (tmp_path / "left-over").write_text("x")
    with pytest.raises(train_job.JobError, match="not empty"):
        train_job.prepare(tmp_path, "s3://bucket/prefix", None)
