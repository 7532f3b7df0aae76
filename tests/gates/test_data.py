"""Gate: the raw data passed validation (reports/validation.json, written by the `validate` stage)."""

from __future__ import annotations

import pytest


@pytest.mark.gates("data_validation")
def test_data_validation_passed(spec, outputs, gate) -> None:
    report = outputs.validation
    broken = [r for r in report["results"] if not r["success"]]
    detail = f"{report['evaluated'] - len(broken)}/{report['evaluated']} expectations passed"
    if broken:
        detail += "; broken: " + ", ".join(f"{r['rule']} on {r['column'] or 'table'}" for r in broken[:5])
    gate.check(len(broken) if report["success"] or broken else 1, 0, "<=", detail)
