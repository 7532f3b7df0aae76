"""Prometheus metrics, named as in docs/serving-interface.md.

With WORKERS > 1 every worker is its own process; `__main__` then sets PROMETHEUS_MULTIPROC_DIR (under /tmp)
before any worker starts, prometheus_client keeps the values in per-process files there, and /metrics merges
them so a scrape of any worker sees the whole pod. That holds for every metric created in a worker, whatever
its registry: the inference log's counters (model/serve/inference_log.py) are merged the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess

from model.serve.config import MULTIPROCESS_ENV

if TYPE_CHECKING:
    from model.serve.service import ModelInfo

#: Latency buckets (seconds): a fast path answers in about a millisecond, a large batch in tens.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000)
#: Inner edges of the 10 score bins [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]: a probability's bin is the number of
#: edges <= it. i / 10 is the double nearest to 0.i (linspace would give 0.30000000000000004).
SCORE_EDGES = np.arange(1, 10) / 10
SCORE_BINS = tuple(str(i) for i in range(len(SCORE_EDGES) + 1))


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def score_bins(probabilities: np.ndarray) -> np.ndarray:
    """How many probabilities fall in each of the 10 fixed bins (1.0 goes to the last)."""
    index = np.searchsorted(SCORE_EDGES, probabilities, side="right")
    return np.bincount(index, minlength=len(SCORE_BINS))


def new_registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


class Metrics:
    """The server's metrics on their own registry (several apps may live in one test process); a registry given
    here may already hold other collectors (the inference log's counters), which /metrics then shows too."""

    def __init__(self, info: ModelInfo, handlers: Iterable[str], registry: CollectorRegistry | None = None) -> None:
        prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` series only add noise to every counter
        self.registry = registry = registry if registry is not None else new_registry()
        self.requests = Counter(
            "lighthouse_http_requests",
            "HTTP requests by endpoint, method and status code.",
            ["handler", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "lighthouse_http_request_duration_seconds",
            "HTTP request latency by endpoint.",
            ["handler"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "lighthouse_http_requests_in_flight",
            "HTTP requests being served.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.batch_size = Histogram(
            "lighthouse_predict_batch_size", "Instances per /predict call.", buckets=BATCH_BUCKETS, registry=registry
        )
        self.model_info = Gauge(
            "lighthouse_model_info",
            "The model this process serves (always 1).",
            ["model_version", "data_hash", "git_sha"],
            registry=registry,
            multiprocess_mode="max",
        )
        self.score_bin = Counter(
            "lighthouse_prediction_score_bin",
            "Predicted positive-class probabilities per fixed bin of width 0.1 (NOT cumulative; bin 9 includes 1.0).",
            ["bin"],
            registry=registry,
        )
        self.model_info.labels(info.model_version, info.data_hash, info.git_sha).set(1)
        # Every series exists from the start, so rate() and increase() work from the first scrape.
        self._bins = [self.score_bin.labels(b) for b in SCORE_BINS]
        self._durations = {h: self.duration.labels(h) for h in handlers}
        self._requests: dict[tuple[str, str, int], Counter] = {}
        if not multiprocess_mode():
            prometheus_client.ProcessCollector(registry=registry)
            prometheus_client.PlatformCollector(registry=registry)
            prometheus_client.GCCollector(registry=registry)

    def observe_request(self, handler: str, method: str, status: int, seconds: float) -> None:
        key = (handler, method, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = self.requests.labels(handler, method, str(status))
        counter.inc()
        self._durations[handler].observe(seconds)

    def observe_predictions(self, probabilities: np.ndarray) -> None:
        self.batch_size.observe(len(probabilities))
        for child, count in zip(self._bins, score_bins(probabilities).tolist(), strict=True):
            if count:
                child.inc(count)

    def exposition(self) -> bytes:
        """The text format; in multiprocess mode, merged over every worker's files."""
        if multiprocess_mode():
            merged = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return bytes(prometheus_client.generate_latest(merged))
        return bytes(prometheus_client.generate_latest(self.registry))

    @staticmethod
    def process_exited() -> None:
        """Drop this worker's live gauges (in-flight) from the merged view."""
        if multiprocess_mode():
            prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
