"""/metrics speaks the Prometheus text format with the names in docs/serving-interface.md, and a real
Prometheus scrapes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from model.serve.metrics import score_bins
from tests.conftest import require_binary
from tests.model.serve.helpers import ServerProcess
from tests.model.serve.training import TrainedModel
from tests.prometheus import PrometheusServer, ScrapeTarget

#: name -> (type, label names) from docs/serving-interface.md.
INTERFACE = {
    "lighthouse_http_requests": ("counter", {"handler", "method", "status"}),
    "lighthouse_http_request_duration_seconds": ("histogram", {"handler"}),
    "lighthouse_http_requests_in_flight": ("gauge", set()),
    "lighthouse_predict_batch_size": ("histogram", set()),
    "lighthouse_model_info": ("gauge", {"model_version", "data_hash", "git_sha"}),
    "lighthouse_prediction_score_bin": ("counter", {"bin"}),
}


def scrape(server: ServerProcess) -> dict[str, Metric]:
    response = server.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def value(family: Metric, sample_name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in family.samples
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_parse_with_the_names_and_labels_of_the_interface(server: ServerProcess) -> None:
    families = scrape(server)
    for name, (kind, labels) in INTERFACE.items():
        assert name in families, f"{name} missing"
        family = families[name]
        assert family.type == kind, name
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == labels, (name, sample)


def test_model_info_names_the_served_model(server: ServerProcess, trained: TrainedModel) -> None:
    samples = scrape(server)["lighthouse_model_info"].samples
    assert [s.labels for s in samples] == [
        {
            "model_version": trained.record.sha256[:12],
            "data_hash": trained.record.data_hash,
            "git_sha": trained.record.git_sha,
        }
    ]
    assert samples[0].value == 1


def test_all_score_bins_exist_before_any_prediction(server: ServerProcess) -> None:
    bins = {s.labels["bin"] for s in scrape(server)["lighthouse_prediction_score_bin"].samples}
    assert bins == {str(i) for i in range(10)}


def test_predictions_move_the_counters(server: ServerProcess, trained: TrainedModel) -> None:
    instances = trained.instances()[:40]
    before = scrape(server)
    response = server.client.post("/predict", json={"instances": instances})
    probabilities = np.array([p["probability"] for p in response.json()["predictions"]])
    server.client.post("/predict", json={"instances": []})  # one 422
    after = scrape(server)

    def delta(name: str, sample: str, **labels: str) -> float:
        return value(after[name], sample, **labels) - value(before[name], sample, **labels)

    expected_bins = score_bins(probabilities)
    for i in range(10):
        assert (
            delta("lighthouse_prediction_score_bin", "lighthouse_prediction_score_bin_total", bin=str(i))
            == (expected_bins[i])
        )
    assert delta("lighthouse_predict_batch_size", "lighthouse_predict_batch_size_count") == 1
    assert delta("lighthouse_predict_batch_size", "lighthouse_predict_batch_size_sum") == 40
    requests = "lighthouse_http_requests_total"
    assert delta("lighthouse_http_requests", requests, handler="/predict", method="POST", status="200") == 1
    assert delta("lighthouse_http_requests", requests, handler="/predict", method="POST", status="422") == 1
    duration = "lighthouse_http_request_duration_seconds_count"
    assert delta("lighthouse_http_request_duration_seconds", duration, handler="/predict") == 2
    # The scrape itself is in flight while it is being answered.
    assert value(after["lighthouse_http_requests_in_flight"], "lighthouse_http_requests_in_flight") == 1


def test_unknown_paths_share_one_label(server: ServerProcess) -> None:
    for path in ("/a", "/b/c", "/predict/extra"):
        assert server.client.get(path).status_code == 404
    handlers = {s.labels["handler"] for s in scrape(server)["lighthouse_http_requests"].samples}
    assert not any(h.startswith(("/a", "/b", "/predict/")) for h in handlers)
    assert "other" in handlers


def test_score_bins_are_half_open_and_close_at_one() -> None:
    counts = score_bins(np.array([0.0, 0.0999, 0.1, 0.3, 0.2999999, 0.5, 0.9, 0.95, 1.0]))
    assert counts.tolist() == [2, 1, 1, 1, 0, 1, 0, 0, 0, 3]


@pytest.fixture
def prometheus(server: ServerProcess, tmp_path: Path) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping the server every second."""
    target = ScrapeTarget(f"127.0.0.1:{server.port}")
    with PrometheusServer(tmp_path, [target], binary=require_binary("prometheus")) as prometheus:
        yield prometheus


def test_a_real_prometheus_scrapes_the_server(prometheus: PrometheusServer, trained: TrainedModel) -> None:
    prometheus.wait_for_scrapes(1, timeout=60)
    (info,) = prometheus.query("lighthouse_model_info")
    assert info.labels["model_version"] == trained.record.sha256[:12]
    assert info.labels["job"] == "lighthouse"
    (up,) = prometheus.query('up{job="lighthouse"}')
    assert up.value == 1
