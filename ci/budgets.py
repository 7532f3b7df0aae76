"""Operational budgets: the size of the serialised model and the time to score one row in process."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

BYTES_PER_MB = 1_000_000


def size_mb(path: Path) -> float:
    return path.stat().st_size / BYTES_PER_MB


@dataclass(frozen=True)
class Latency:
    median_ms: float
    p90_ms: float
    best_ms: float
    repeats: int


def single_row_latency(model: Any, row: pd.DataFrame, repeats: int, warmup: int) -> Latency:
    """Time `predict_proba` on one row, `repeats` times after `warmup` untimed calls.

    The median, not the mean, is the figure: a shared machine adds stalls that a mean would count. Native thread
    pools are limited to one thread, as in a serving worker; on a busy machine, idle OpenMP threads spinning up for
    a single row would otherwise dominate the timing.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    if len(row) != 1:
        raise ValueError(f"expected one row, got {len(row)}")
    timings = []
    with threadpool_limits(limits=1):
        for _ in range(warmup):
            model.predict_proba(row)
        for _ in range(repeats):
            start = time.perf_counter_ns()
            model.predict_proba(row)
            timings.append((time.perf_counter_ns() - start) / 1e6)
    ordered = sorted(timings)
    return Latency(
        median_ms=statistics.median(ordered),
        p90_ms=ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        best_ms=ordered[0],
        repeats=repeats,
    )
