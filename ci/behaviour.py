"""Behavioural tests: perturb one field of the held-out rows and watch the predicted probability move.

Invariance: a field that must not matter (e.g. a sensitive attribute the model must not learn) is set to every
other value it can take; no prediction may move by more than a tolerance. Directional: a field with a known
effect is shifted (numeric) or switched between two categories; the mean probability must move the expected way.
Field names and values come from params.yaml and the contract, never from code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model.core.contract import Contract
from model.core.dataset import features
from model.core.params import DirectionalCheck, InvarianceCheck

#: A row "moves the wrong way" in a directional test when its probability changes by more than this against it.
WRONG_WAY_TOLERANCE = 0.01


@dataclass(frozen=True)
class InvarianceResult:
    max_abs_change: float
    rows: int
    variants: int
    is_feature: bool


@dataclass(frozen=True)
class DirectionalResult:
    mean_change: float
    rows: int
    wrong_way_share: float
    is_feature: bool


def _proba(model: Any, frame: pd.DataFrame, contract: Contract) -> np.ndarray:
    return np.asarray(model.predict_proba(features(frame, contract))[:, 1], dtype=float)


def _is_feature(contract: Contract, column: str) -> bool:
    return column in {c.name for c in contract.feature_columns}


def invariance_variants(frame: pd.DataFrame, contract: Contract, column: str, seed: int = 0) -> list[pd.Series]:
    """Replacement values for `column`: each category in turn, or for a numeric field a shuffle of its values
    and its contract bounds (or observed extremes)."""
    spec = contract.by_name[column]
    values = frame[column]
    if spec.categories is not None:
        return [pd.Series(category, index=frame.index).astype(values.dtype) for category in spec.categories]
    if spec.dtype == "boolean":
        return [pd.Series(flag, index=frame.index) for flag in (False, True)]
    shuffled = pd.Series(np.random.default_rng(seed).permutation(values.to_numpy()), index=frame.index)
    low = spec.min if spec.min is not None else values.min()
    high = spec.max if spec.max is not None else values.max()
    return [shuffled, *(pd.Series(bound, index=frame.index).astype(values.dtype) for bound in (low, high))]


def invariance(model: Any, frame: pd.DataFrame, contract: Contract, check: InvarianceCheck) -> InvarianceResult:
    """Largest change of any row's probability when `check.column` takes each of its other values."""
    baseline = _proba(model, frame, contract)
    variants = invariance_variants(frame, contract, check.column)
    largest = 0.0
    for replacement in variants:
        changed = frame.assign(**{check.column: replacement})
        largest = max(largest, float(np.max(np.abs(_proba(model, changed, contract) - baseline))))
    return InvarianceResult(largest, len(frame), len(variants), _is_feature(contract, check.column))


def directional(model: Any, frame: pd.DataFrame, contract: Contract, check: DirectionalCheck) -> DirectionalResult:
    """Mean change of the probability when the field is shifted (rows staying within the contract's bounds) or
    switched `from` one category `to` another (rows holding `from`)."""
    spec = contract.by_name[check.column]
    values = frame[check.column]
    if check.shift is not None:
        moved = values + check.shift
        keep = np.ones(len(frame), dtype=bool)
        if spec.min is not None:
            keep &= (moved >= spec.min).to_numpy()
        if spec.max is not None:
            keep &= (moved <= spec.max).to_numpy()
        rows = frame[keep]
        changed = rows.assign(**{check.column: moved[keep].astype(values.dtype)})
    else:
        rows = frame[(values == check.from_value).to_numpy()]
        changed = rows.assign(**{check.column: pd.Series(check.to_value, index=rows.index).astype(values.dtype)})
    if rows.empty:
        raise ValueError(f"directional test on {check.column!r} ({check.change}): no held-out row to perturb")
    delta = _proba(model, changed, contract) - _proba(model, rows, contract)
    against = delta > WRONG_WAY_TOLERANCE if check.expect == "decrease" else delta < -WRONG_WAY_TOLERANCE
    return DirectionalResult(float(delta.mean()), len(rows), float(against.mean()), _is_feature(contract, check.column))
