"""The drift statistics on numbers whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.monitor import stats


def test_psi_matches_the_canary_analysis_worked_example() -> None:
    """tests/k8s/promql/analysis_test.yaml: bins 0-4 at 4%, 5-9 at 16% against 10% each -> 0.4159."""
    expected = np.full(10, 0.1)
    actual = np.array([0.04] * 5 + [0.16] * 5)
    assert stats.psi(expected, actual, 1e-4) == pytest.approx(0.4159, abs=1e-4)
    assert stats.psi(expected, expected, 1e-4) == 0.0


def test_psi_floor_keeps_an_empty_bin_finite() -> None:
    value = stats.psi(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.4, 0.1]), 1e-4)
    assert math.isfinite(value)
    assert value == pytest.approx(0.1 * math.log(0.1 / 1e-4) + (0.4 - 0.5) * math.log(0.4 / 0.5), rel=1e-3)


def test_integer_features_get_one_right_closed_bin_per_value() -> None:
    values = np.repeat(np.arange(7.0), 100)
    edges = stats.quantile_edges(values, 10)
    assert edges.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    counts = stats.bin_counts(values, edges)
    assert counts.tolist() == [100] * 7 + [0]  # (-inf, 0], (0, 1], ..., (5, 6], and (6, inf) for what is new
    assert stats.bin_counts(np.array([-5.0, 99.0]), edges).tolist() == [1, 0, 0, 0, 0, 0, 0, 1]


def test_ecdf_points_are_exact_for_few_values_and_compact_for_many() -> None:
    values, counts = stats.ecdf_points(np.array([1.0, 1.0, 2.0]), 10)
    assert (values.tolist(), counts.tolist()) == ([1.0, 2.0], [2, 1])
    rng = np.random.default_rng(0)
    sample = rng.normal(size=10_001)
    values, counts = stats.ecdf_points(sample, 100)
    assert values.size == 100
    assert counts.sum() == 10_001
    assert stats.ks_test(values, counts, sample).p_value > 0.5


def test_ks_and_chi2_separate_same_from_shifted() -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(size=5000)
    values, counts = stats.ecdf_points(reference, 1000)
    assert stats.ks_test(values, counts, rng.normal(size=2000)).p_value > 0.01
    assert stats.ks_test(values, counts, rng.normal(0.3, size=2000)).p_value < 1e-6
    assert stats.chi2_test(np.array([500, 500, 0]), np.array([250, 250, 0])).p_value == pytest.approx(1.0)
    assert stats.chi2_test(np.array([500, 500, 0]), np.array([350, 150, 0])).p_value < 1e-6
