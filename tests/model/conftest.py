"""Fixtures for tests that run the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline_project import copy_project, dvc, stages_run


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project after one cold `dvc repro` (shared: tests clone it before changing anything)."""
    project = copy_project(tmp_path_factory.mktemp("built") / "project")
    result = dvc(project, "repro")
    assert "validate" in stages_run(result.stdout)
    return project
