"""Judge a window against the reference: per-feature, prediction and label drift, data quality, performance.

Each finding gets a status. A distribution drifts when its PSI reaches `psi_warn` / `psi_alert` AND its test
(KS for numeric, chi-square for categorical) is significant at `p_value`: the test says the difference is real,
the PSI says it is large enough to matter. A tiny window cannot reach significance; a huge one always does, and
then the PSI keeps trivial shifts quiet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from model.core.contract import Contract
from model.core.params import MonitorParams
from model.monitor import stats
from model.monitor.profile import CategoricalProfile, NumericProfile, ReferenceProfile, level_counts
from model.monitor.quality import ColumnQuality

Status = Literal["ok", "warn", "alert"]
SEVERITY: dict[str, int] = {"ok": 0, "warn": 1, "alert": 2}


def worst(statuses: Sequence[Status]) -> Status:
    return max(statuses, key=lambda s: SEVERITY[s], default="ok")


@dataclass(frozen=True)
class Distribution:
    """The drift of one distribution (a feature, the predicted score or the label)."""

    name: str
    kind: Literal["numeric", "categorical"]
    rows: int
    psi: float
    test: str
    statistic: float
    p_value: float
    status: Status
    bins: list[str]
    reference: list[float]
    window: list[float]

    def summary(self) -> str:
        return f"{self.name}: PSI {self.psi:.3f}, {self.test} p={_p(self.p_value)}"


def _p(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2g}"


def judge(psi: float, p_value: float, params: MonitorParams) -> Status:
    significant = not math.isnan(p_value) and p_value < params.p_value
    if significant and psi >= params.psi_alert:
        return "alert"
    if significant and psi >= params.psi_warn:
        return "warn"
    return "ok"


def numeric_drift(name: str, profile: NumericProfile, values: np.ndarray, params: MonitorParams) -> Distribution:
    values = values[~np.isnan(values)]
    edges = np.asarray(profile.edges, dtype=float)
    expected = stats.shares(np.asarray(profile.counts))
    actual = stats.shares(stats.bin_counts(values, edges))
    value = stats.psi(expected, actual, params.psi_floor)
    test = stats.ks_test(np.asarray(profile.ecdf_values), np.asarray(profile.ecdf_counts), values)
    return Distribution(
        name=name,
        kind="numeric",
        rows=int(values.size),
        psi=value,
        test=test.test,
        statistic=test.statistic,
        p_value=test.p_value,
        status=judge(value, test.p_value, params) if values.size else "ok",
        bins=profile.bin_labels(),
        reference=expected.tolist(),
        window=actual.tolist(),
    )


def categorical_drift(name: str, profile: CategoricalProfile, values: pd.Series, params: MonitorParams) -> Distribution:
    counts = level_counts(values, profile.levels[:-1])
    expected = stats.shares(np.asarray(profile.counts))
    actual = stats.shares(counts)
    value = stats.psi(expected, actual, params.psi_floor)
    test = stats.chi2_test(np.asarray(profile.counts), counts)
    return Distribution(
        name=name,
        kind="categorical",
        rows=int(counts.sum()),
        psi=value,
        test=test.test,
        statistic=test.statistic,
        p_value=test.p_value,
        status=judge(value, test.p_value, params) if counts.sum() else "ok",
        bins=list(profile.levels),
        reference=expected.tolist(),
        window=actual.tolist(),
    )


def feature_drift(
    profile: ReferenceProfile, typed: pd.DataFrame, contract: Contract, params: MonitorParams
) -> list[Distribution]:
    results = []
    for column in contract.feature_columns:
        reference = profile.features[column.name]
        if isinstance(reference, NumericProfile):
            values = typed[column.name].to_numpy(dtype=float)
            results.append(numeric_drift(column.name, reference, values, params))
        else:
            results.append(categorical_drift(column.name, reference, typed[column.name], params))
    return results


@dataclass(frozen=True)
class QualityFinding:
    column: str
    rows: int
    missing: int
    wrong_type: int
    out_of_domain: int
    violation_rate: float
    examples: list[Any]
    status: Status


def quality_findings(columns: list[ColumnQuality], params: MonitorParams) -> list[QualityFinding]:
    findings = []
    for q in columns:
        rate = q.violation_rate
        status: Status = "alert" if rate > params.quality_alert else "warn" if rate > params.quality_warn else "ok"
        findings.append(
            QualityFinding(q.column, q.rows, q.missing, q.wrong_type, q.out_of_domain, rate, q.examples, status)
        )
    return findings


@dataclass(frozen=True)
class Performance:
    """Concept drift: the model's metrics on labelled rows of the window against its held-out metrics."""

    labelled_rows: int
    status: Status | Literal["not_judged"]
    reason: str = ""
    metric: str = ""
    reference: dict[str, float] = field(default_factory=dict)
    window: dict[str, float] = field(default_factory=dict)
    drop: float | None = None


def performance(
    labels: pd.Series | None,
    probabilities: np.ndarray | None,
    profile: ReferenceProfile,
    contract: Contract,
    params: MonitorParams,
) -> Performance | None:
    """None without labels; `not_judged` (with the reason) when they cannot support a verdict."""
    if labels is None:
        return None
    if probabilities is None:
        return Performance(0, "not_judged", "no predicted scores for the labelled rows")
    known = labels.isin([str(v) for v in contract.target.labels]).to_numpy() & ~np.isnan(probabilities)
    count = int(known.sum())
    if count < params.min_labelled_rows:
        return Performance(count, "not_judged", f"{count} labelled rows, fewer than min_labelled_rows")
    y_true = (labels[known] == str(contract.target.positive_label)).to_numpy(dtype=np.int64)
    if y_true.min() == y_true.max():
        return Performance(count, "not_judged", "the labelled rows hold one class only")
    if params.metric not in profile.metrics:
        return Performance(count, "not_judged", f"the reference has no {params.metric!r} metric")
    from model.core.metrics import LOWER_IS_BETTER, compute_metrics  # sklearn: only when labels are judged

    current = compute_metrics(y_true, probabilities[known], profile.threshold)
    reference = {k: v for k, v in profile.metrics.items() if k in current}
    if params.metric not in current:
        return Performance(count, "not_judged", f"{params.metric!r} is not a metric model.core.metrics computes")
    change = current[params.metric] - reference[params.metric]
    drop = change if params.metric in LOWER_IS_BETTER else -change
    status: Status = (
        "alert" if drop >= params.metric_drop_alert else "warn" if drop >= params.metric_drop_warn else "ok"
    )
    return Performance(count, status, "", params.metric, reference, current, round(drop, 6))


def as_dict(item: Any) -> dict[str, Any]:
    data: dict[str, Any] = asdict(item)
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()}
