"""The monitor reads what the real inference logger writes: a window of the log (all of it, or a time slice),
joined with delayed labels by request id; and `python -m model.monitor` really exits with its documented codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from prometheus_client import CollectorRegistry

from model.monitor.report import EXIT_ALERT, EXIT_OK
from model.serve.inference_log import InferenceLogConfig, InferenceLogger
from tests.model.monitor.conftest import ROOT, Example
from tests.model.monitor.helpers import run_monitor, statuses, write_batch

BATCH = 4  # instances per logged request


def log_requests(logger: InferenceLogger, example: Example, frame: pd.DataFrame, prefix: str) -> None:
    """Send `frame` through the logger as the server would: requests of BATCH instances, with their scores."""
    names = [c.name for c in example.contract.feature_columns]
    scores = example.scores(frame)
    for start in range(0, len(frame), BATCH):
        chunk = frame.iloc[start : start + BATCH]
        instances = chunk[names].to_dict(orient="records")
        assert logger.log(instances, scores[start : start + BATCH].tolist(), "7", request_id=f"{prefix}{start}")


def labels_for(frame: pd.DataFrame, target: str, prefix: str) -> pd.DataFrame:
    positions = np.arange(len(frame))
    return pd.DataFrame(
        {
            "request_id": [f"{prefix}{p - p % BATCH}" for p in positions],
            "index": positions % BATCH,
            target: frame[target].to_numpy(),
        }
    )


def test_a_log_window_with_a_time_slice_and_delayed_labels(example: Example, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    target = example.contract.target.column
    calm = example.test.sample(800, random_state=10).reset_index(drop=True)
    shifted = example.test.sample(800, random_state=11).reset_index(drop=True)
    shifted["age"] = (shifted["age"] + 6).clip(upper=99)
    logger = InferenceLogger(InferenceLogConfig(logs, rotate_seconds=3600), registry=CollectorRegistry())
    log_requests(logger, example, calm, "calm-")
    logger.flush()
    time.sleep(0.05)
    middle = time.time()
    time.sleep(0.05)
    log_requests(logger, example, shifted, "shifted-")
    logger.close()

    code, report = run_monitor(example, tmp_path / "all", "--logs", str(logs))
    assert report is not None
    assert report["window"]["rows"] == 1600
    assert report["window"]["model_versions"] == {"7": 1600}
    assert code == EXIT_ALERT
    assert statuses(report)["age"] == "alert"

    iso = pd.Timestamp(middle, unit="s", tz="UTC").isoformat()
    code, report = run_monitor(example, tmp_path / "before", "--logs", str(logs), "--until", iso)
    assert report is not None
    assert report["window"]["rows"] == 800
    assert (code, report["status"]) == (EXIT_OK, "ok"), report["findings"]
    code, report = run_monitor(example, tmp_path / "after", "--logs", str(logs), "--since", iso)
    assert report is not None
    assert report["window"]["rows"] == 800
    assert code == EXIT_ALERT

    labels = pd.concat([labels_for(calm, target, "calm-"), labels_for(shifted, target, "shifted-")])
    labels_path = write_batch(labels.sample(frac=1, random_state=0), tmp_path / "labels.csv")
    code, report = run_monitor(
        example, tmp_path / "labelled", "--logs", str(logs), "--until", iso, "--labels", str(labels_path)
    )
    assert report is not None
    assert report["performance"]["labelled_rows"] == 800
    assert report["performance"]["status"] == "ok"
    assert code == EXIT_OK

    scrambled = labels.assign(**{target: np.random.default_rng(1).permutation(labels[target].to_numpy())})
    scrambled_path = write_batch(scrambled, tmp_path / "scrambled.csv")
    code, report = run_monitor(
        example, tmp_path / "scrambled", "--logs", str(logs), "--until", iso, "--labels", str(scrambled_path)
    )
    assert report is not None
    assert report["performance"]["status"] == "alert"
    assert code == EXIT_ALERT


def test_labels_without_an_index_need_single_instance_requests(example: Example, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    target = example.contract.target.column
    frame = example.test.head(300)
    with InferenceLogger(InferenceLogConfig(logs), registry=CollectorRegistry()) as logger:
        log_requests(logger, example, frame, "r-")
    labels = labels_for(frame, target, "r-").drop(columns=["index"])
    code, report = run_monitor(
        example, tmp_path, "--logs", str(logs), "--labels", str(write_batch(labels, tmp_path / "l.csv"))
    )
    assert (code, report) == (2, None)


def test_the_command_line_exit_code_and_reports(example: Example, tmp_path: Path) -> None:
    """One real `python -m model.monitor` process: an alerting batch exits 20 and writes all three outputs."""
    batch = example.test.sample(600, random_state=12).drop(columns=[example.contract.target.column])
    batch["checks"] = (batch["checks"] + 3).clip(upper=6)
    path = write_batch(batch, tmp_path / "batch.csv")
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "model.monitor", *example.args("--batch", str(path), out=out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_ALERT, result.stderr
    assert "monitor: alert" in result.stdout
    assert "checks: PSI" in result.stdout
    report = json.loads((out / "drift.json").read_text())
    assert report["exit_code"] == EXIT_ALERT
    markdown = (out / "drift.md").read_text()
    assert markdown.startswith("# Drift report: ALERT")
    for plot in ("psi.png", "distributions.png"):
        assert (out / "drift" / plot).read_bytes().startswith(b"\x89PNG")
        assert f"](drift/{plot})" in markdown
