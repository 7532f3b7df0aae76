"""WORKERS > 1: the model is checked once before any worker starts, metrics add up across workers, and SIGTERM
still drains and exits 0."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.model.serve.helpers import run_server_to_exit, start_server
from tests.model.serve.training import TrainedModel


@pytest.mark.slow
def test_two_workers_share_one_metrics_view(trained: TrainedModel, tmp_path: Path) -> None:
    server = start_server(trained.model_dir, tmp_path / "server.log", WORKERS="2", TMPDIR=str(tmp_path))
    try:
        for instance in trained.instances()[:30]:
            assert server.client.post("/predict", json={"instances": [instance]}).status_code == 200
        families = {f.name: f for f in text_string_to_metric_families(server.client.get("/metrics").text)}
    finally:
        exit_code = server.stop()
    requests = [
        s.value
        for s in families["lighthouse_http_requests"].samples
        if s.name.endswith("_total") and s.labels["handler"] == "/predict" and s.labels["status"] == "200"
    ]
    assert requests == [30.0]  # one series, the sum over both workers
    assert sum(s.value for s in families["lighthouse_prediction_score_bin"].samples) == 30
    assert len(families["lighthouse_model_info"].samples) == 1
    pids = {line["pid"] for line in server.logs() if line["message"] == "ready"}
    assert len(pids) == 2, "two worker processes served"
    assert exit_code == 0
    assert not [p for p in tmp_path.iterdir() if re.match(r"lighthouse-metrics-", p.name)], "metrics dir removed"


def test_a_bad_model_stops_before_any_worker_starts(tmp_path: Path) -> None:
    result = run_server_to_exit(tmp_path / "nowhere", WORKERS="2")
    assert result.returncode == 2
    assert "refusing to start" in result.stdout
    assert "Started parent process" not in result.stdout
