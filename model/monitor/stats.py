"""Drift statistics: PSI on reference-quantile bins or category levels, the KS and chi-square tests.

Everything is vectorised numpy on arrays without missing values (the caller drops them), so a window of a
million rows costs a sort and a few passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

#: Bins are right-closed: (-inf, e0], (e0, e1], ..., (e_last, inf). Integer features get a bin per value.
SIDE: Literal["left"] = "left"


@dataclass(frozen=True)
class TestResult:
    test: str  # "ks" or "chi2"
    statistic: float
    p_value: float


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the reference's quantiles, duplicates merged (a discrete feature gets fewer bins)."""
    if values.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)[1:-1]))


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """How many values fall in each of the len(edges) + 1 bins."""
    return np.bincount(np.searchsorted(edges, values, side=SIDE), minlength=edges.size + 1)


def shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(counts.shape, dtype=float)


def psi(expected: np.ndarray, actual: np.ndarray, floor: float) -> float:
    """Population stability index sum((a - e) * ln(a / e)) over bins, each share floored so it stays finite."""
    e = np.maximum(np.asarray(expected, dtype=float), floor)
    a = np.maximum(np.asarray(actual, dtype=float), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def ecdf_points(values: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(value, count) pairs summarising a sample for the KS test: exact when it has at most `points` distinct
    values, else `points` evenly spaced quantiles sharing the count (a compact, faithful ECDF)."""
    unique, counts = np.unique(values, return_counts=True)
    if unique.size <= points:
        return unique, counts
    quantiles = np.quantile(values, (np.arange(points) + 0.5) / points)
    weights = np.full(points, values.size // points)
    weights[: values.size % points] += 1
    return quantiles, weights


def ks_test(reference_values: np.ndarray, reference_counts: np.ndarray, window: np.ndarray) -> TestResult:
    """Two-sample Kolmogorov-Smirnov test of the window against the reference's ECDF points."""
    reference = np.repeat(reference_values, reference_counts)
    if reference.size == 0 or window.size == 0:
        return TestResult("ks", float("nan"), float("nan"))
    result = stats.ks_2samp(reference, window, method="asymp" if window.size > 10_000 else "auto")
    return TestResult("ks", float(result.statistic), float(result.pvalue))


def chi2_test(reference_counts: np.ndarray, window_counts: np.ndarray) -> TestResult:
    """Chi-square test of homogeneity on the 2 x levels table (levels neither side has are left out)."""
    table = np.vstack([reference_counts, window_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return TestResult("chi2", 0.0, 1.0)
    result = stats.chi2_contingency(table, correction=False)
    return TestResult("chi2", float(result.statistic), float(result.pvalue))
