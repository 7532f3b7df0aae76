"""checkov (in its own environment) passes on terraform/, every skip says why, and a weakened bucket fails."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_binary
from tests.terraform.hcl import REPO_ROOT, TERRAFORM_DIR, tf_files

CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def run_checkov(directory: Path, *checks: str) -> dict[str, Any]:
    """Scan `directory` offline (only `checks` if given) and return checkov's terraform report."""
    checkov = require_binary(str(CHECKOV))  # `make checkov-env` installs it
    result = subprocess.run(
        # Not --quiet: the report then lists skipped checks too, with the reason given in the skip comment.
        [
            checkov,
            "-d",
            str(directory),
            "--framework",
            "terraform",
            "--skip-download",
            "--compact",
            "-o",
            "json",
            *(["--check", ",".join(checks)] if checks else []),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), f"checkov crashed ({result.returncode}):\n{result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    return dict(report)


def _failed(report: dict[str, Any]) -> list[str]:
    return [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in report["results"]["failed_checks"]]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return run_checkov(TERRAFORM_DIR)


def test_checkov_passes(report: dict[str, Any]) -> None:
    assert report["summary"]["passed"] > 100, "checkov scanned almost nothing: is terraform/ empty?"
    assert _failed(report) == []


def test_every_skip_is_justified(report: dict[str, Any]) -> None:
    skips = [
        (path, *m.groups()) for path in tf_files() for m in SKIP_COMMENT.finditer(path.read_text(encoding="utf-8"))
    ]
    assert skips, "no skips at all: drop this test's premise or the skip parsing broke"
    for path, check_id, reason in skips:
        assert len((reason or "").split()) >= 8, f"{path}: skip of {check_id} needs a reason of a sentence or more"
    skipped = report["results"]["skipped_checks"]
    assert {c["check_id"] for c in skipped} == {check_id for _, check_id, _ in skips}
    for check in skipped:
        assert check["check_result"].get("suppress_comment"), f"{check['check_id']} skipped without a reason"


def test_a_weakened_bucket_fails_checkov(tmp_path: Path) -> None:
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform"))
    module = copy / "modules" / "secure-bucket" / "main.tf"
    text = module.read_text(encoding="utf-8")
    # Drop the public access block and suspend versioning, as a careless edit might.
    weakened, removed = re.subn(
        r'resource "aws_s3_bucket_public_access_block" "this" \{.*?\n\}\n', "", text, flags=re.S
    )
    weakened = weakened.replace("depends_on = [aws_s3_bucket_public_access_block.this]", "")
    weakened = weakened.replace('status = "Enabled"\n  }\n}', 'status = "Suspended"\n  }\n}', 1)
    assert removed == 1, "the public access block is no longer where the weakening expects it"
    assert "Suspended" in weakened, "the versioning status is no longer where the weakening expects it"
    module.write_text(weakened, encoding="utf-8")

    expected = ["CKV2_AWS_6", "CKV_AWS_21"]  # public access block, versioning
    failed = _failed(run_checkov(copy, *expected))
    for check_id in expected:
        hits = [f for f in failed if f.startswith(check_id) and "dvc_remote" in f]
        assert hits, f"{check_id} did not fail on the weakened DVC bucket: {failed}"
