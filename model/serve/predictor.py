"""Prediction from validated instances: the fast path when it provably equals the pipeline, else the pipeline.

Strategies, fastest first:
- `compiled-trees`: ArrayTransform + CompiledTrees (small batches) or the estimator (large batches);
- `array`: ArrayTransform + the final estimator's own predict_proba (any estimator);
- `pipeline`: a DataFrame through the whole scikit-learn pipeline (always correct, about 2-3 ms a row).
A fast strategy is used only after it reproduced the pipeline on probe rows drawn from the contract, at start;
the tests check the same on the whole held-out split.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.core.contract import Contract
from model.serve.transform import ArrayTransform, UnsupportedModelError, compile_transform
from model.serve.trees import CompiledTrees, compile_trees

log = logging.getLogger(__name__)

#: The largest difference from the pipeline a fast path may show on the probe rows (in practice it is 0.0).
TOLERANCE = 1e-12
PROBE_ROWS = 64

Rows = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Prediction:
    """Per instance: the positive class's probability and the predicted label."""

    probabilities: np.ndarray
    labels: list[Any]


def pipeline_proba(pipeline: Any, contract: Contract) -> Callable[[Rows], np.ndarray]:
    """The reference: rows -> DataFrame typed as in training -> the whole pipeline."""

    def predict(rows: Rows) -> np.ndarray:
        import pandas as pd

        from model.core.dataset import typed

        names = [c.name for c in contract.feature_columns]
        frame = pd.DataFrame.from_records([{n: row.get(n) for n in names} for row in rows], columns=names)
        return np.asarray(pipeline.predict_proba(typed(frame, contract)))

    return predict


def fast_proba(transform: ArrayTransform, estimator: Any, trees: CompiledTrees | None) -> Callable[[Rows], np.ndarray]:
    def predict(rows: Rows) -> np.ndarray:
        x = transform(rows)
        if trees is not None and len(rows) <= trees.max_rows:
            return trees.predict_proba(x)
        return np.asarray(estimator.predict_proba(x))

    return predict


def probe_rows(contract: Contract, count: int = PROBE_ROWS, seed: int = 0) -> list[dict[str, Any]]:
    """Deterministic rows covering the contract: bounds first, then random values inside them."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        row: dict[str, Any] = {}
        for column in contract.feature_columns:
            if column.nullable and i % 8 == 7:
                row[column.name] = None
            elif column.categories:
                row[column.name] = column.categories[
                    (i + int(rng.integers(len(column.categories)))) % len(column.categories)
                ]
            elif column.dtype == "boolean":
                row[column.name] = bool(rng.integers(2))
            else:
                low = column.min if column.min is not None else -1e3
                high = column.max if column.max is not None else 1e3
                value = low if i == 0 else high if i == 1 else rng.uniform(low, high)
                row[column.name] = round(value) if column.dtype == "integer" else float(value)
        rows.append(row)
    return rows


class Predictor:
    """Validated instances -> Prediction, by the fastest strategy that matches the pipeline."""

    def __init__(self, pipeline: Any, contract: Contract, classes: Mapping[str, Any]) -> None:
        estimator_classes = list(getattr(pipeline, "classes_", []))
        if len(estimator_classes) != 2 or {str(c) for c in estimator_classes} != set(classes):
            raise ValueError(f"model classes {estimator_classes} do not match the record's {dict(classes)}")
        labels = [classes[str(c)] for c in estimator_classes]
        if contract.target.positive_label not in labels:
            raise ValueError(
                f"the record's classes {labels} lack the positive label {contract.target.positive_label!r}"
            )
        self._labels = np.array(labels, dtype=object)
        self._positive = labels.index(contract.target.positive_label)
        self.reference = pipeline_proba(pipeline, contract)
        self.strategy, self._proba = self._choose(pipeline, contract)

    def _choose(self, pipeline: Any, contract: Contract) -> tuple[str, Callable[[Rows], np.ndarray]]:
        """Try the fast strategies in order; keep the first that reproduces the pipeline on the probe rows."""
        rows = probe_rows(contract)
        expected = self.reference(rows)
        try:
            steps = getattr(pipeline, "steps", None)
            if not steps or len(steps) != 2:
                raise UnsupportedModelError("not a two-step Pipeline (preprocessing, estimator)")
            transform = compile_transform(steps[0][1])
            estimator = steps[1][1]
        except UnsupportedModelError as exc:
            log.warning("serving through the scikit-learn pipeline: %s", exc)
            return "pipeline", self.reference
        try:
            trees: CompiledTrees | None = compile_trees(estimator)
        except UnsupportedModelError as exc:
            log.info("trees not compiled (%s); using the estimator on arrays", exc)
            trees = None
        candidates = [("compiled-trees", fast_proba(transform, estimator, trees))] if trees else []
        candidates.append(("array", fast_proba(transform, estimator, None)))
        for name, proba in candidates:
            worst = _worst_difference(proba, rows, expected, trees.max_rows if trees else 1)
            if worst <= TOLERANCE:
                log.info("prediction strategy %s (largest difference from the pipeline: %g)", name, worst)
                return name, proba
            log.warning("strategy %s differs from the pipeline by %g; not used", name, worst)
        return "pipeline", self.reference

    def predict_proba(self, rows: Rows) -> np.ndarray:
        """Both classes' probabilities, columns in the estimator's class order (as `pipeline.predict_proba`)."""
        return self._proba(rows)

    def predict(self, rows: Rows) -> Prediction:
        proba = self._proba(rows)
        # argmax, like the estimators' own predict(): the label is the more probable class.
        return Prediction(proba[:, self._positive], self._labels[np.argmax(proba, axis=1)].tolist())


def _worst_difference(proba: Callable[[Rows], np.ndarray], rows: Rows, expected: np.ndarray, small: int) -> float:
    """Largest |fast - pipeline| over the whole probe batch, a small batch and single rows (both code paths)."""
    try:
        checks = [(slice(None), proba(rows)), (slice(0, small), proba(rows[:small]))]
        checks += [(slice(i, i + 1), proba(rows[i : i + 1])) for i in range(4)]
    except Exception as exc:  # a fast path that cannot even run on valid rows is simply not used
        log.warning("fast path failed on probe rows: %r", exc)
        return float("inf")
    worst = 0.0
    for where, got in checks:
        if got.shape != expected[where].shape:
            return float("inf")
        worst = max(worst, float(np.max(np.abs(got - expected[where]))))
    return worst
