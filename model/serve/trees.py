"""A fitted binary HistGradientBoostingClassifier, evaluated as numpy arrays: every tree at once.

scikit-learn predicts tree by tree, one Cython call (and OpenMP region) per tree: for one row and 200 trees that
is about 1-2 ms of call overhead around a few microseconds of work. Here all trees' nodes sit in flat arrays and
one row (or a small batch) walks all of them together, depth by depth, in about 0.1 ms. The leaf values are
summed in scikit-learn's order and turned into probabilities by the model's own loss object, so the result is
bit-for-bit the same; the predictor verifies that against the estimator before using it. Large batches go back
to the estimator, whose per-row cost is lower (see CompiledTrees.max_rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from model.serve.transform import UnsupportedModelError


@dataclass(frozen=True)
class CompiledTrees:
    """All trees of the ensemble as flat node arrays; leaves point to themselves."""

    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    depth: int
    baseline: float
    loss: Any
    #: Above this many rows scikit-learn's own loop is faster (measured on this project's model; see docs).
    max_rows: int = 32

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        rows = np.arange(n)[:, None]
        node = np.broadcast_to(self.roots, (n, self.roots.size))
        for _ in range(self.depth):
            values = x[rows, self.feature[node]]
            go_left = (values <= self.threshold[node]) | (np.isnan(values) & self.missing_left[node])
            node = np.where(go_left, self.left[node], self.right[node])
        # raw = baseline + tree_1 + tree_2 + ... added left to right, exactly as scikit-learn accumulates it.
        terms = np.concatenate([np.full((n, 1), self.baseline), self.value[node]], axis=1)
        raw = np.cumsum(terms, axis=1)[:, -1:]
        return np.asarray(self.loss.predict_proba(raw))


def compile_trees(estimator: Any) -> CompiledTrees:
    """Flatten a fitted binary HistGradientBoostingClassifier with numeric splits, or raise UnsupportedModelError."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    if type(estimator) is not HistGradientBoostingClassifier:
        raise UnsupportedModelError(f"estimator is {type(estimator).__name__}")
    if estimator.n_trees_per_iteration_ != 1 or len(estimator.classes_) != 2:
        raise UnsupportedModelError("not a binary classifier")
    if type(estimator._loss).__name__ != "HalfBinomialLoss":
        raise UnsupportedModelError(f"loss {type(estimator._loss).__name__}")
    baseline = np.asarray(estimator._baseline_prediction)
    if baseline.size != 1:
        raise UnsupportedModelError("unexpected baseline shape")
    trees = [iteration[0] for iteration in estimator._predictors]
    nodes = [tree.nodes for tree in trees]
    if any(n["is_categorical"].any() for n in nodes):
        raise UnsupportedModelError("categorical splits")
    sizes = np.array([len(n) for n in nodes])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    flat = np.concatenate(nodes)
    shift = np.repeat(offsets, sizes)
    leaf = flat["is_leaf"].astype(bool)
    self_index = np.arange(len(flat), dtype=np.intp)
    return CompiledTrees(
        roots=offsets,
        feature=flat["feature_idx"].astype(np.intp),
        threshold=flat["num_threshold"].astype(np.float64),
        missing_left=flat["missing_go_to_left"].astype(bool),
        left=np.where(leaf, self_index, flat["left"].astype(np.intp) + shift),
        right=np.where(leaf, self_index, flat["right"].astype(np.intp) + shift),
        value=flat["value"].astype(np.float64),
        depth=int(flat["depth"].max()),
        baseline=float(baseline.ravel()[0]),
        loss=estimator._loss,
    )
