"""Gates on the fairness audit (reports/fairness.json): per sensitive attribute, and over their intersection."""

from __future__ import annotations

import pytest


def entry_for(outputs, name: str) -> dict:
    report = outputs.fairness
    entries = dict(report["attributes"])
    if report.get("intersection"):
        entries[report["intersection"]["name"]] = report["intersection"]
    if name not in entries:
        raise KeyError(f"reports/fairness.json has no audit of {name!r} (stale? rerun the fairness stage)")
    return entries[name]


def check_entry(gate, entry: dict, metric: str, maximum: float) -> None:
    value = entry[metric]
    assessed = len(entry["assessed_groups"])
    detail = (
        f"{metric.replace('_', ' ')} {value:.4f} over {assessed} group(s), max {maximum:g}"
        if value is not None
        else f"not measurable: {entry['note']}"
    )
    if value is not None and entry["small_groups"]:
        detail += f"; {len(entry['small_groups'])} small group(s) not assessed"
    gate.check(value, maximum, "<=", detail)


@pytest.mark.gates("fairness")
def test_fairness_attribute(spec, outputs, gate) -> None:
    metric = spec.name.rsplit(".", 1)[1]
    maximum = getattr(outputs.params.gates.fairness.maxima_for(spec.subject), metric)
    check_entry(gate, entry_for(outputs, spec.subject), metric, maximum)


@pytest.mark.gates("fairness_intersection")
def test_fairness_intersection(spec, outputs, gate) -> None:
    from model.stages.fairness import INTERSECTION

    maximum = getattr(outputs.params.gates.fairness.intersection, spec.subject)
    check_entry(gate, entry_for(outputs, INTERSECTION), spec.subject, maximum)
