"""WORKERS > 1: the model is checked once before any worker starts, metrics (the inference log's too) add up
across workers, and SIGTERM still drains, closes each worker's log and exits 0."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.model.serve.helpers import run_server_to_exit, start_server
from tests.model.serve.training import TrainedModel


def writer_pids(directory: Path) -> set[str]:
    """Processes that finished an inference-log file (`inference-<time>-<pid>-<id>-<n>.jsonl`)."""
    return {path.name.split("-")[2] for path in directory.glob("inference-*.jsonl")}


@pytest.mark.slow
def test_two_workers_share_one_metrics_view(trained: TrainedModel, tmp_path: Path) -> None:
    logs = tmp_path / "inference-log"
    server = start_server(
        trained.model_dir,
        tmp_path / "server.log",
        WORKERS="2",
        TMPDIR=str(tmp_path),
        INFERENCE_LOG_DIR=str(logs),
        INFERENCE_LOG_ROTATE_SECONDS="0.2",
    )
    instances = trained.instances()

    def predict(row: int) -> int:
        # A new connection each time, several at once: the idle worker accepts while the other is busy.
        with httpx.Client(base_url=server.url, timeout=30.0, headers={"Connection": "close"}) as client:
            return client.post("/predict", json={"instances": [instances[row]]}).status_code

    sent = 0
    try:
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(4) as pool:
            while len(writer_pids(logs)) < 2 and time.monotonic() < deadline:
                assert set(pool.map(predict, range(sent, sent + 16))) == {200}
                sent += 16
                time.sleep(0.3)  # a rotation: finished files show which workers served
        deadline = time.monotonic() + 30  # records count once their file is finished
        while True:
            families = {f.name: f for f in text_string_to_metric_families(server.client.get("/metrics").text)}
            logged = sum(s.value for s in families["lighthouse_inference_log_records"].samples)
            if logged >= sent or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        exit_code = server.stop()
    assert len(writer_pids(logs)) == 2, "both workers served (and logged)"
    requests = [
        s.value
        for s in families["lighthouse_http_requests"].samples
        if s.name.endswith("_total") and s.labels["handler"] == "/predict" and s.labels["status"] == "200"
    ]
    assert requests == [sent]  # one series, the sum over both workers
    assert sum(s.value for s in families["lighthouse_prediction_score_bin"].samples) == sent
    assert len(families["lighthouse_model_info"].samples) == 1
    assert logged == sent, "the inference log's records counter is the sum over both workers too"
    assert [s.value for s in families["lighthouse_inference_log_dropped"].samples] == [0, 0, 0, 0]
    pids = {line["pid"] for line in server.logs() if line["message"] == "ready"}
    assert len(pids) == 2, "two worker processes served"
    closed = [line for line in server.logs() if line.get("event") == "inference_log_closed"]
    assert len(closed) == 2, "each worker closed its own log at shutdown"
    assert sum(line["records"] for line in closed) == sent
    assert sum(len(path.read_text().splitlines()) for path in logs.glob("*.jsonl")) == sent
    assert exit_code == 0
    assert not [p for p in tmp_path.iterdir() if re.match(r"lighthouse-metrics-", p.name)], "metrics dir removed"


def test_a_bad_model_stops_before_any_worker_starts(tmp_path: Path) -> None:
    result = run_server_to_exit(tmp_path / "nowhere", WORKERS="2")
    assert result.returncode == 2
    assert "refusing to start" in result.stdout
    assert "Started parent process" not in result.stdout
