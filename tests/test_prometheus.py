"""tests/prometheus.py against a real Prometheus that scrapes itself, twice, labelled canary and stable."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.prometheus import PrometheusError, PrometheusServer, ScrapeTarget, free_port


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    binary = require_binary("prometheus")
    port = free_port()
    dead = ScrapeTarget(f"127.0.0.1:{free_port()}", {"role": "gone"})  # nothing listens there
    targets = [ScrapeTarget(f"127.0.0.1:{port}", {"role": role, "app": "prometheus"}) for role in ("canary", "stable")]
    with PrometheusServer(tmp_path_factory.mktemp("prometheus"), [*targets, dead], binary=binary, port=port) as server:
        server.wait_for_scrapes(2, targets=targets)
        yield server


def test_each_target_is_scraped_with_its_own_labels(prometheus: PrometheusServer) -> None:
    up = {(s.labels["role"], s.labels["instance"]): s.value for s in prometheus.query('up{app="prometheus"}')}
    address = f"127.0.0.1:{prometheus.port}"
    assert up == {("canary", address): 1.0, ("stable", address): 1.0}
    build = prometheus.query('prometheus_build_info{role="canary"}')
    assert len(build) == 1
    assert build[0].labels["job"] == "lighthouse"


def test_waiting_counts_successful_scrapes(prometheus: PrometheusServer) -> None:
    (scrapes,) = prometheus.query('sum_over_time(up{role="stable"}[1h])')
    assert scrapes.value >= 2


def test_a_target_that_never_answers_times_out_with_its_error(prometheus: PrometheusServer) -> None:
    (dead,) = [t for t in prometheus.targets if t.labels["role"] == "gone"]
    with pytest.raises(TimeoutError, match=r"role=\"gone\".*connection refused"):
        prometheus.wait_for_scrapes(1, timeout=2, targets=[dead])


def test_queries_return_scalars_and_report_errors(prometheus: PrometheusServer) -> None:
    (one,) = prometheus.query("scalar(vector(1)) + 1")
    assert one.value == 2.0
    assert one.labels == {}
    with pytest.raises(PrometheusError, match="bad_data"):
        prometheus.query("sum(rate(up[1m])")


def test_stopping_ends_the_process_and_frees_the_port(tmp_path: Path) -> None:
    server = PrometheusServer(tmp_path, [], binary=require_binary("prometheus"))
    server.start()
    server.stop()
    assert server.process is not None
    assert server.process.returncode is not None
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", server.port)) != 0


def test_a_broken_config_is_reported(tmp_path: Path) -> None:
    server = PrometheusServer(tmp_path, [], binary=require_binary("prometheus"), scrape_interval="often")
    with pytest.raises(PrometheusError, match="often"):
        server.start()
