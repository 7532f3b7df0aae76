"""Behavioural gates on the held-out split: invariance to a field that must not matter, and directional
expectations (both declared in params.yaml: gates.behaviour)."""

from __future__ import annotations

import pytest

from ci.behaviour import directional, invariance


@pytest.mark.gates("invariance")
def test_invariance(spec, outputs, gate) -> None:
    check = outputs.params.gates.behaviour.invariance[spec.index]
    result = invariance(outputs.model, outputs.test_frame, outputs.contract, check)
    how = "" if result.is_feature else " (not a model feature: invariant by construction)"
    gate.check(
        result.max_abs_change,
        check.max_abs_change,
        "<=",
        f"largest change of a probability when {check.column} changes: {result.max_abs_change:.4f} "
        f"over {result.rows} rows x {result.variants} values, max {check.max_abs_change:g}{how}",
    )


@pytest.mark.gates("directional")
def test_directional(spec, outputs, gate) -> None:
    check = outputs.params.gates.behaviour.directional[spec.index]
    result = directional(outputs.model, outputs.test_frame, outputs.contract, check)
    decrease = check.expect == "decrease"
    gate.check(
        result.mean_change,
        -check.min_mean_change if decrease else check.min_mean_change,
        "<=" if decrease else ">=",
        f"{check.column} {check.change}: mean change {result.mean_change:+.4f} over {result.rows} rows, "
        f"expected {'a decrease' if decrease else 'an increase'} of at least {check.min_mean_change:g}; "
        f"{result.wrong_way_share:.1%} of rows move the other way",
    )
