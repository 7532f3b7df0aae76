"""Every workflow (and dependabot.yml) passes the schema, zizmor and the repository's pinning rules.

Parametrised over the files on disk, so a workflow added later is checked without touching this file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_binary

REPO_ROOT = Path(__file__).resolve().parents[2]
GITHUB_DIR = REPO_ROOT / ".github"
WORKFLOWS = sorted([*GITHUB_DIR.glob("workflows/*.yml"), *GITHUB_DIR.glob("workflows/*.yaml")])
ACTIONS = sorted(GITHUB_DIR.glob("actions/*/action.y*ml"))
DEPENDABOT = [p for p in (GITHUB_DIR / "dependabot.yml", GITHUB_DIR / "dependabot.yaml") if p.exists()]
# owner/repo[/path]@<40-hex commit> # v1.2.3: a tag can move, a commit cannot; the comment names the release.
PINNED_USES = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}\s+#\s*v\d+\.\d+\.\d+\S*$")
ZIZMOR_IGNORE = re.compile(r"#\s*zizmor:\s*ignore\[[^\]]+\](.*)$")


def _id(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def _zizmor() -> str:
    beside_python = Path(sys.executable).parent / "zizmor"
    return str(beside_python) if beside_python.exists() else require_binary("zizmor")


def _schema_check(path: Path, schema: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{_id(path)} fails {schema}:\n{result.stdout}{result.stderr}"


def _zizmor_findings(path: Path) -> list[str]:
    result = subprocess.run(
        [_zizmor(), "--offline", "--format", "json", str(path)], capture_output=True, text=True, check=False
    )
    try:
        findings: list[dict[str, Any]] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"zizmor did not report on {_id(path)} (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return [
        f"{f['ident']} ({f['determinations']['severity']}): {f['desc']} at "
        f"{[loc['symbolic']['annotation'] for loc in f['locations']]}"
        for f in findings
    ]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_id)
def test_workflow_matches_the_schema(workflow: Path) -> None:
    _schema_check(workflow, "vendor.github-workflows")


@pytest.mark.parametrize("workflow", WORKFLOWS + ACTIONS + DEPENDABOT, ids=_id)
def test_zizmor_has_no_findings(workflow: Path) -> None:
    assert _zizmor_findings(workflow) == []


@pytest.mark.parametrize("action", ACTIONS, ids=_id)
def test_composite_action_matches_the_schema(action: Path) -> None:
    _schema_check(action, "vendor.github-actions")


@pytest.mark.parametrize("config", DEPENDABOT, ids=_id)
def test_dependabot_matches_the_schema(config: Path) -> None:
    _schema_check(config, "vendor.dependabot")


@pytest.mark.parametrize("workflow", WORKFLOWS + DEPENDABOT, ids=_id)
def test_zizmor_suppressions_carry_a_reason(workflow: Path) -> None:
    for number, line in enumerate(workflow.read_text(encoding="utf-8").splitlines(), start=1):
        ignore = ZIZMOR_IGNORE.search(line)
        if ignore:
            assert len(ignore.group(1).split()) >= 3, f"{_id(workflow)}:{number}: zizmor ignore without a reason"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_id)
def test_actions_are_pinned_to_a_commit_with_its_release(workflow: Path) -> None:
    for number, line in enumerate(workflow.read_text(encoding="utf-8").splitlines(), start=1):
        uses = re.search(r"^\s*(?:-\s+)?uses:\s*(.+)$", line)
        reference = uses.group(1).strip() if uses else ""
        if reference and not reference.startswith(("./", "docker://")):
            assert PINNED_USES.match(reference), (
                f"{_id(workflow)}:{number}: `{reference}` is not pinned as owner/repo@<sha> # vX.Y.Z"
            )


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_id)
def test_default_token_permissions_are_empty_or_read_only(workflow: Path) -> None:
    document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    permissions = document.get("permissions")
    assert permissions is not None, f"{_id(workflow)}: set top-level `permissions: {{}}` and grant per job"
    if isinstance(permissions, dict):
        writes = {scope: level for scope, level in permissions.items() if level != "read"}
        assert not writes, f"{_id(workflow)}: top-level permissions grant {writes}; grant them per job"
    else:
        assert permissions == "read-all", f"{_id(workflow)}: top-level permissions {permissions!r}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_id)
def test_checkout_does_not_persist_credentials(workflow: Path) -> None:
    document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    for job_id, job in document.get("jobs", {}).items():
        # Only a job that pushes (contents: write) may keep the token in its checkout; zizmor's artipacked
        # finding must then be suppressed in place with a reason, which the zizmor test enforces.
        pushes = (job.get("permissions") or {}).get("contents") == "write"
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@") and not pushes:
                assert step.get("with", {}).get("persist-credentials") is False, (
                    f"{_id(workflow)}: job {job_id} checks out with persisted credentials but does not push"
                )
