"""The monitor workflow: least privilege per job, and its shell steps run for real (bash, the real monitor, real
inference logs) with GitHub's output and summary files: an unconfigured fork is told so and stays green, a calm
window is ok, a drifted one is an alert, a broken one fails the job with the reason in the summary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from model.monitor import report
from model.serve.inference_log import InferenceLogConfig, InferenceLogger
from tests.model.monitor.conftest import Example, example  # noqa: F401 - the session fixture

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "monitor.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return document


def step(workflow: dict[str, Any], job: str, name: str) -> str:
    script: str = next(s["run"] for s in workflow["jobs"][job]["steps"] if s.get("name") == name)
    return script


def run_step(script: str, cwd: Path, **env: str) -> tuple[int, dict[str, str], str]:
    """Run a `run:` script as the runner does (bash -e); return (exit code, step outputs, job summary)."""
    outputs, summary = cwd / "github_output", cwd / "github_summary"
    outputs.write_text("")
    summary.write_text("")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary), **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return result.returncode, values, summary.read_text()


def test_each_job_gets_only_the_permission_it_uses(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {}
    grants = {name: job["permissions"] for name, job in workflow["jobs"].items()}
    assert grants == {
        "drift": {"contents": "read", "id-token": "write"},
        "issue": {"issues": "write"},
        "retrain": {"actions": "write"},
    }
    jobs = workflow["jobs"]
    assert "vars.MONITOR_ON_ALERT != 'retrain'" in jobs["issue"]["if"]
    assert "vars.MONITOR_ON_ALERT == 'retrain'" in jobs["retrain"]["if"]
    assert all("needs.drift.outputs.status == 'alert'" in jobs[j]["if"] for j in ("issue", "retrain"))


def test_the_step_maps_exactly_the_monitor_exit_codes(workflow: dict[str, Any]) -> None:
    script = step(workflow, "drift", "Judge the window")
    for status, code in report.EXIT_CODES.items():
        assert f"{code}) status={status} ;;" in script


def test_an_unconfigured_fork_is_told_and_stays_green(workflow: dict[str, Any], tmp_path: Path) -> None:
    script = step(workflow, "drift", "Decide whether there is a window to judge")
    code, outputs, summary = run_step(script, tmp_path, MONITOR_WINDOW_URL="")
    assert (code, outputs) == (0, {"enabled": "false"})
    assert "not configured" in summary
    assert "MONITOR_WINDOW_URL" in summary
    code, outputs, summary = run_step(script, tmp_path, MONITOR_WINDOW_URL="s3://bucket/inference-log/")
    assert (code, outputs, summary) == (0, {"enabled": "true"}, "")


def _workspace(example: Example, tmp_path: Path, frame: Any) -> Path:  # noqa: F811
    """A checkout as the job sees it after `make setup monitor-fetch monitor-release-reference`."""
    work = tmp_path / "checkout"
    (work / "data").mkdir(parents=True)
    (work / "build").mkdir()
    shutil.copy(example.path("data/contract.yaml"), work / "data" / "contract.yaml")
    shutil.copy(example.path("params.yaml"), work / "params.yaml")
    shutil.copy(example.path("models/reference.json"), work / "build" / "reference.json")
    (work / ".venv").symlink_to(sys.prefix, target_is_directory=True)  # this environment, as `make setup` made it
    names = [c.name for c in example.contract.feature_columns]
    with InferenceLogger(InferenceLogConfig(work / "build" / "inference-log"), registry=CollectorRegistry()) as log:
        scores = example.scores(frame)
        for start in range(0, len(frame), 5):
            chunk = frame.iloc[start : start + 5]
            log.log(chunk[names].to_dict(orient="records"), scores[start : start + 5].tolist(), "1")
    return work


def test_a_calm_window_is_ok_and_a_drifted_one_alerts(
    workflow: dict[str, Any],
    example: Example,  # noqa: F811
    tmp_path: Path,
) -> None:
    script = step(workflow, "drift", "Judge the window")
    calm = example.test.sample(600, random_state=20)
    code, outputs, summary = run_step(script, _workspace(example, tmp_path / "calm", calm), MONITOR_SINCE="1h")
    assert (code, outputs) == (0, {"status": "ok"})
    assert summary.startswith("# Drift report: OK")

    drifted = calm.assign(checks=(calm["checks"] + 3).clip(upper=6))
    code, outputs, summary = run_step(script, _workspace(example, tmp_path / "drift", drifted), MONITOR_SINCE="1h")
    assert (code, outputs) == (0, {"status": "alert"})
    assert summary.startswith("# Drift report: ALERT")
    assert "checks: PSI" in summary


def test_a_window_that_cannot_be_judged_fails_the_job_with_the_reason(
    workflow: dict[str, Any],
    example: Example,  # noqa: F811
    tmp_path: Path,
) -> None:
    work = _workspace(example, tmp_path, example.test.head(300))
    broken = work / "build" / "inference-log" / "inference-broken.jsonl"
    broken.write_text('{"ts": 1, "probability": 0.5, "instance": {"age": 30\n')  # cut off mid-record
    code, outputs, summary = run_step(step(workflow, "drift", "Judge the window"), work, MONITOR_SINCE="30d")
    assert (code, outputs) == (1, {"status": "error"})
    assert "could not judge the window (exit 2)" in summary
    assert f"{broken.name}:1: not valid JSON" in summary
