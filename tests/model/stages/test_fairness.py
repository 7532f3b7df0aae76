"""The fairness audit: groups from the contract (bands, categories, coded categories), exact differences over
the groups large enough, small groups flagged, undefined rates null, plots written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.core.contract import Contract
from model.core.params import FairnessParams
from model.stages.fairness import audit, audit_groups, band_labels, group_labels, write_plots


def _contract(**overrides) -> Contract:
    data = {
        "name": "t",
        "target": {"column": "y", "dtype": "integer", "positive_label": 1, "labels": [0, 1]},
        "columns": [
            {"name": "group", "dtype": "string", "categories": ["a", "b", "c"]},
            {"name": "age", "dtype": "integer", "min": 0, "max": 120},
            {"name": "sex", "dtype": "integer", "categories": [0, 1], "category_labels": {0: "female", 1: "male"}},
            {"name": "x", "dtype": "float"},
        ],
        "sensitive_attributes": [{"column": "group"}, {"column": "age", "bands": [18, 40, 65]}, {"column": "sex"}],
    }
    data.update(overrides)
    return Contract.model_validate(data)


def test_band_labels_for_integers_and_floats() -> None:
    assert band_labels((18, 40, 65), integer=True) == ["18-39", "40-64", "65+"]
    assert band_labels((0.5, 1.5), integer=False) == ["[0.5, 1.5)", ">=1.5"]


def test_group_labels_follow_contract_order_and_labels() -> None:
    contract = _contract()
    frame = pd.DataFrame({"group": ["b", "a"], "age": [17, 65], "sex": [1, 0], "x": [0.0, 0.0]})
    groups, order = group_labels(frame, contract, contract.sensitive_attributes[1])
    assert groups.tolist() == ["<18", "65+"]
    assert order == ["<18", "18-39", "40-64", "65+"]
    groups, order = group_labels(frame, contract, contract.sensitive_attributes[2])
    assert groups.tolist() == ["male", "female"]
    assert order == ["female", "male"]


def test_differences_are_exact_and_skip_small_groups() -> None:
    # a: 4 rows, 2 positives; predictions select 3 (TPR 1.0, FPR 0.5). b: 4 rows, 2 positives; selects 1 (TPR
    # 0.5, FPR 0). c: 1 row: small, so its extreme rates must not enter the differences.
    groups = pd.Series(["a"] * 4 + ["b"] * 4 + ["c"], dtype=object)
    y_true = np.array([1, 1, 0, 0, 1, 1, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 1, 0, 0, 0, 1])
    entry = audit_groups("g", ["g"], groups, ["a", "b", "c"], y_true, y_pred, min_group_size=2)
    assert entry["assessed_groups"] == ["a", "b"]
    assert entry["small_groups"] == ["c"]
    assert entry["demographic_parity_difference"] == pytest.approx(0.75 - 0.25)
    assert entry["demographic_parity_ratio"] == pytest.approx(0.25 / 0.75, abs=1e-6)
    assert entry["equalized_odds_difference"] == pytest.approx(0.5)  # max(TPR gap 0.5, FPR gap 0.5)
    c = entry["groups"][2]
    assert c["small"] is True
    assert c["count"] == 1
    assert c["true_positive_rate"] is None  # no positives: undefined, not 0
    assert c["false_positive_rate"] == 1.0


def test_undefined_rates_do_not_count_as_zero() -> None:
    # Group b has no negatives: its FPR is undefined and must not create an FPR gap of 0.5 - 0.
    groups = pd.Series(["a"] * 4 + ["b"] * 4, dtype=object)
    y_true = np.array([1, 1, 0, 0, 1, 1, 1, 1])
    y_pred = np.array([1, 1, 1, 0, 1, 1, 1, 1])
    entry = audit_groups("g", ["g"], groups, ["a", "b"], y_true, y_pred, min_group_size=1)
    assert entry["groups"][1]["false_positive_rate"] is None
    assert entry["equalized_odds_difference"] == pytest.approx(0.0)  # TPRs equal, FPR gap not measurable


def test_fewer_than_two_large_groups_is_a_note_not_a_number() -> None:
    groups = pd.Series(["a"] * 5 + ["b"], dtype=object)
    entry = audit_groups("g", ["g"], groups, ["a", "b"], np.array([1, 0] * 3), np.array([1] * 6), min_group_size=3)
    assert entry["demographic_parity_difference"] is None
    assert "fewer than two groups have at least 3 rows" in entry["note"]


def test_audit_covers_every_attribute_and_the_intersection(tmp_path) -> None:
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "group": rng.choice(["a", "b", "c"], n),
            "age": rng.integers(10, 90, n),
            "sex": rng.integers(0, 2, n),
            "x": rng.normal(size=n),
        }
    )
    y_true = rng.integers(0, 2, n)
    y_pred = rng.integers(0, 2, n)
    report = audit(frame, y_true, y_pred, _contract(), FairnessParams(min_group_size=30, intersection=True), 0.5)
    assert list(report["attributes"]) == ["group", "age", "sex"]
    assert report["rows"] == n
    for entry in report["attributes"].values():
        assert sum(g["count"] for g in entry["groups"]) == n  # nobody dropped
    intersection = report["intersection"]
    assert intersection["columns"] == ["group", "age", "sex"]
    assert sum(g["count"] for g in intersection["groups"]) == n
    assert intersection["small_groups"]  # 3 x 4 x 2 groups of 400 rows: some are small, and say so
    paths = write_plots(report, tmp_path)
    assert sorted(p.name for p in paths) == ["age.png", "group.png", "intersection.png", "sex.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    # No intersection when it is turned off.
    off = audit(frame, y_true, y_pred, _contract(), FairnessParams(min_group_size=30, intersection=False), 0.5)
    assert off["intersection"] is None
