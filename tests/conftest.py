"""Shared pytest fixtures and helpers."""

from __future__ import annotations

import os
import shutil

import pytest

#: Fixtures shared across areas (the trained model real server processes serve).
pytest_plugins = ("tests.serving_fixtures",)

#: Set by `.ci/run`: a test that needs an external binary fails instead of skipping when it is missing.
REQUIRE_TOOLS_VAR = "LIGHTHOUSE_REQUIRE_TOOLS"


def require_binary(name: str) -> str:
    """Return the path of `name`, or skip (fail under LIGHTHOUSE_REQUIRE_TOOLS=1) when it is not on PATH."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name!r} is not on PATH"
    if os.environ.get(REQUIRE_TOOLS_VAR) == "1":
        pytest.fail(f"{reason} and {REQUIRE_TOOLS_VAR}=1 requires it")
    pytest.skip(reason)
