"""Gates on what serving pays: the model's size on disk and its single-row prediction time."""

from __future__ import annotations

import pytest

from ci.budgets import single_row_latency, size_mb
from model.core import paths
from model.core.dataset import features


@pytest.mark.gates("model_size")
def test_model_size(spec, outputs, gate) -> None:
    budget = outputs.params.gates.model_size_mb
    size = size_mb(outputs.path(paths.MODEL_ARTIFACT))
    gate.check(size, budget, "<=", f"{paths.MODEL_ARTIFACT} is {size:.2f} MB, budget {budget:g} MB")


@pytest.mark.gates("latency")
def test_single_row_latency(spec, outputs, gate) -> None:
    settings = outputs.params.gates.latency
    row = features(outputs.test_frame.head(1), outputs.contract)
    timing = single_row_latency(outputs.model, row, settings.repeats, settings.warmup)
    gate.check(
        timing.median_ms,
        settings.budget_ms,
        "<=",
        f"median {timing.median_ms:.2f} ms over {timing.repeats} calls (p90 {timing.p90_ms:.2f}, "
        f"best {timing.best_ms:.2f}), budget {settings.budget_ms:g} ms",
    )
