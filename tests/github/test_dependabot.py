"""Dependabot covers every pinned thing: actions, the Python lock, checkov's requirements, the Dockerfile."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".github/dependabot.yml"


def test_every_ecosystem_is_updated_with_a_cooldown() -> None:
    updates = yaml.safe_load(CONFIG.read_text())["updates"]
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in updates}
    assert ecosystems == {("github-actions", "/"), ("uv", "/"), ("pip", "/tools"), ("docker", "/")}
    assert all(u["cooldown"]["default-days"] >= 1 for u in updates)
    assert (ROOT / "uv.lock").exists()
    assert (ROOT / "tools/checkov.txt").exists()


def test_config_matches_dependabots_schema() -> None:
    checker = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    proc = subprocess.run(
        [checker, "--builtin-schema", "vendor.dependabot", str(CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
