"""A fitted binary HistGradientBoostingClassifier, evaluated as numpy arrays: every tree at once.

scikit-learn predicts tree by tree, one Cython call (and OpenMP region) per tree: for one row and 200 trees that
is about 1-2 ms of call overhead around a few microseconds of work. Here all trees' nodes sit in flat arrays: for
each row, every node's decision is computed in one vectorised comparison, then all trees are walked together, one
array lookup per level, in about 0.05 ms. The leaf values are
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
        n, nodes = x.shape[0], self.threshold.size
        tested = x[:, self.feature]  # (rows, nodes): the value each node would test, for every row
        # scikit-learn goes left when value <= threshold, and a missing value goes where the node learned.
        go_right = tested > self.threshold
        missing = np.isnan(tested)
        if missing.any():
            go_right = np.where(missing, ~self.missing_left, go_right)
        following = np.where(go_right, self.right, self.left).ravel()  # row r, node i -> following[r*nodes+i]
        offsets = (np.arange(n) * nodes)[:, None]
        node = offsets + self.roots  # every tree's root, for every row
        for _ in range(self.depth):  # leaves point to themselves, so walking the deepest path is enough
            node = following[node] + offsets
        # raw = baseline + tree_1 + tree_2 + ... added left to right, exactly as scikit-learn accumulates it.
        terms = np.empty((n, self.roots.size + 1))
        terms[:, 0] = self.baseline
        terms[:, 1:] = self.value[node - offsets]
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
