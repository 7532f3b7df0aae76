"""Run the monitor in-process on a frame and read back what it wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from model.monitor.cli import main
from tests.model.monitor.conftest import Example


def write_batch(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def run_monitor(example: Example, tmp_path: Path, *source: str) -> tuple[int, dict[str, Any] | None]:
    """(exit code, drift.json or None when nothing was written)."""
    out = tmp_path / "reports"
    code = main(example.args(*source, "--no-plots", out=out))
    report = out / "drift.json"
    return code, json.loads(report.read_text()) if report.exists() else None


def judge_batch(example: Example, tmp_path: Path, frame: pd.DataFrame) -> tuple[int, dict[str, Any]]:
    code, report = run_monitor(example, tmp_path, "--batch", str(write_batch(frame, tmp_path / "batch.parquet")))
    assert report is not None, "the monitor wrote no report"
    return code, report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    """Status per feature, plus `prediction`, `label`, `quality` and `performance` when judged."""
    found = {f["name"]: f["status"] for f in report["features"]}
    for key in ("prediction", "label"):
        if report[key]:
            found[key] = report[key]["status"]
    found["quality"] = report["quality"]["status"]
    if report["performance"]:
        found["performance"] = report["performance"]["status"]
    return found


def psi_of(report: dict[str, Any], name: str) -> float:
    value: float = next(f["psi"] for f in report["features"] if f["name"] == name)
    return value
