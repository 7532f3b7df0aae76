"""Behavioural checks measure what they claim on real models, and budgets measure real calls."""

from __future__ import annotations

import pandas as pd
import pytest

from ci.behaviour import directional, invariance, invariance_variants
from ci.budgets import single_row_latency, size_mb
from model.core.contract import Contract
from model.core.dataset import features
from model.core.params import DirectionalCheck, InvarianceCheck
from tests.ci.conftest import biased_contract


def test_invariance_is_exact_for_a_field_the_model_does_not_see(example, sound_model) -> None:
    result = invariance(sound_model, example.test, example.contract, InvarianceCheck(column="colour", max_abs_change=0))
    assert result.max_abs_change == 0.0
    assert not result.is_feature
    assert result.variants == 2
    assert result.rows == len(example.test)


def test_invariance_catches_a_model_that_learned_the_field(example, biased_model) -> None:
    contract = Contract.model_validate(biased_contract(example))
    result = invariance(biased_model, example.test, contract, InvarianceCheck(column="colour", max_abs_change=0))
    assert result.is_feature
    assert result.max_abs_change > 0.3  # it learned "Black means not released"


def test_numeric_variants_shuffle_and_use_contract_bounds(example) -> None:
    variants = invariance_variants(example.test, example.contract, "age")
    column = example.contract.by_name["age"]
    assert sorted(variants[0]) == sorted(example.test["age"])  # a permutation
    assert set(variants[1]) == {column.min}
    assert set(variants[2]) == {column.max}


def test_directional_numeric_shift_skips_rows_leaving_the_contract_range(example, sound_model) -> None:
    check = DirectionalCheck(column="checks", shift=1, expect="decrease", min_mean_change=0.01)
    result = directional(sound_model, example.test, example.contract, check)
    at_max = int((example.test["checks"] == example.contract.by_name["checks"].max).sum())
    assert result.rows == len(example.test) - at_max
    assert result.mean_change < 0  # more police records, lower chance of release
    assert 0.0 <= result.wrong_way_share < 0.5


def test_directional_category_switch_only_touches_rows_holding_from(example, sound_model) -> None:
    check = DirectionalCheck.model_validate(
        {"column": "employed", "from": "No", "to": "Yes", "expect": "increase", "min_mean_change": 0.01}
    )
    result = directional(sound_model, example.test, example.contract, check)
    assert result.rows == int((example.test["employed"] == "No").sum())
    assert result.mean_change > 0


def test_directional_without_rows_to_perturb_is_an_error(example, sound_model) -> None:
    check = DirectionalCheck.model_validate(
        {"column": "employed", "from": "No", "to": "Yes", "expect": "increase", "min_mean_change": 0.01}
    )
    nobody = example.test[example.test["employed"] == "Yes"]
    with pytest.raises(ValueError, match="no held-out row to perturb"):
        directional(sound_model, nobody, example.contract, check)


def test_latency_and_size_measure_real_calls(example, sound_model, tmp_path) -> None:
    row = features(example.test.head(1), example.contract)
    timing = single_row_latency(sound_model, row, repeats=5, warmup=1)
    assert timing.repeats == 5
    assert 0 < timing.best_ms <= timing.median_ms <= timing.p90_ms
    with pytest.raises(ValueError, match="expected one row"):
        single_row_latency(sound_model, pd.concat([row, row]), repeats=1, warmup=0)
    (tmp_path / "m").write_bytes(b"x" * 2_500_000)
    assert size_mb(tmp_path / "m") == 2.5
