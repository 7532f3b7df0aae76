"""The terraform make targets refuse bad input with a clear message before touching any state."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import require_binary
from tests.terraform.hcl import REPO_ROOT


def _make(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TF_STATE_")}
    return subprocess.run(
        [require_binary("make"), "--no-print-directory", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**clean, **env},
    )


def test_plan_of_an_unknown_root_names_the_roots() -> None:
    result = _make("terraform-plan", "ENV=nope")
    assert result.returncode != 0
    assert "ENV=nope: no terraform root at terraform/envs/nope" in result.stderr
    assert "platform" in result.stderr
    assert "repository" in result.stderr


def test_init_without_a_state_location_says_how_to_configure_one() -> None:
    result = _make("terraform-init", "ENV=platform")
    assert result.returncode != 0
    if (REPO_ROOT / "terraform" / "envs" / "platform" / "backend.hcl").exists():
        return  # a developer's local backend.hcl: init would really run, not this test's concern
    assert "no remote state configured" in result.stderr
    assert "backend.hcl.example" in result.stderr


def test_state_bucket_without_region_is_refused() -> None:
    result = _make("terraform-init", "ENV=platform", TF_STATE_BUCKET="some-bucket")
    assert result.returncode != 0
    assert "TF_STATE_BUCKET is set but TF_STATE_REGION is not" in result.stderr
