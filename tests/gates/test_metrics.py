"""Gates on the held-out metrics (reports/metrics.json): absolute bounds, and no regression against the champion
(the release record beside the production overlay, snapshotted in reports/champion.json)."""

from __future__ import annotations

import pytest

from model.core.metrics import LOWER_IS_BETTER


def metric(outputs, name: str) -> float:
    metrics = outputs.metrics
    if name not in metrics:
        raise KeyError(f"params.yaml names metric {name!r}, which reports/metrics.json lacks (has: {sorted(metrics)})")
    return float(metrics[name])


@pytest.mark.gates("metric")
def test_metric_within_bound(spec, outputs, gate) -> None:
    side = spec.name.rsplit(".", 1)[1]
    bound = getattr(outputs.params.gates.metrics[spec.subject], side)
    value = metric(outputs, spec.subject)
    word = "floor" if side == "min" else "ceiling"
    gate.check(value, bound, ">=" if side == "min" else "<=", f"{spec.subject} {value:.4f}, {word} {bound:g}")


@pytest.mark.gates("regression")
def test_no_regression_against_champion(spec, outputs, gate) -> None:
    name = spec.subject
    value = metric(outputs, name)
    allowed = outputs.params.gates.regression[name]
    champion = outputs.champion
    if champion is None:
        gate.note(outputs.champion_snapshot["note"], value)
        return
    version = f"{champion.model.name} v{champion.model.version}" if champion.model.version else champion.model.name
    if name not in champion.metrics:
        gate.note(f"the champion's record ({version}) has no {name}: not compared", value)
        return
    best = champion.metrics[name]
    lower = name in LOWER_IS_BETTER
    worse_by = value - best if lower else best - value
    data = ""
    if champion.data.dvc_hash and champion.data.dvc_hash != outputs.record.data_hash:
        data = "; measured on different data than the champion"
    gate.check(
        value,
        best + allowed if lower else best - allowed,
        "<=" if lower else ">=",
        f"challenger {value:.4f} vs champion {best:.4f} ({version}): worse by {worse_by:+.4f}, allowed {allowed:g}"
        + data,
    )
