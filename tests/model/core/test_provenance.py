"""git_sha: a real repository's HEAD, else the commit a training image was built from, else `unknown`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from model.core.provenance import GIT_SHA_VAR, git_sha
from tests.pipeline_project import GIT_IDENTITY


def test_outside_a_repository_the_baked_commit_is_used_only_when_it_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # never find an enclosing repository
    monkeypatch.delenv(GIT_SHA_VAR, raising=False)
    assert git_sha(tmp_path) == "unknown"
    monkeypatch.setenv(GIT_SHA_VAR, "f" * 40)
    assert git_sha(tmp_path) == "f" * 40
    for bad in ("main", "f" * 39, "F" * 40, "f" * 40 + "\n--dirty"):
        monkeypatch.setenv(GIT_SHA_VAR, bad)
        assert git_sha(tmp_path) == "unknown", bad


def test_a_repository_wins_over_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**GIT_IDENTITY, "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    (tmp_path / "f").write_text("x")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True, env=env)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "x"], check=True, env=env)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    monkeypatch.setenv(GIT_SHA_VAR, "f" * 40)
    assert git_sha(tmp_path) == head.strip()
