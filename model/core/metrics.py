"""Held-out quality metrics of a binary classifier: one definition shared by the `evaluate` stage, the gates and the
drift monitor's concept-drift check, so a metric means the same everywhere."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

DECIMALS = 6  # rounding keeps metrics.json stable across platforms and readable in `dvc metrics diff`
#: Metrics where a smaller value is better (losses); for every other metric larger is better.
LOWER_IS_BETTER = frozenset({"log_loss", "brier"})


def compute_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = (proba >= threshold).astype(int)
    values = {
        "roc_auc": skm.roc_auc_score(y_true, proba),
        "pr_auc": skm.average_precision_score(y_true, proba),
        "f1": skm.f1_score(y_true, predicted, zero_division=0),
        "precision": skm.precision_score(y_true, predicted, zero_division=0),
        "recall": skm.recall_score(y_true, predicted, zero_division=0),
        "accuracy": skm.accuracy_score(y_true, predicted),
        "log_loss": skm.log_loss(y_true, proba, labels=[0, 1]),
        "brier": skm.brier_score_loss(y_true, proba),
    }
    return {name: round(float(value), DECIMALS) for name, value in values.items()}
