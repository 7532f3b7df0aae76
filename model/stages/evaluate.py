"""The `evaluate` stage: held-out metrics (DVC metrics) and ROC, precision-recall and calibration curves
(DVC plots), also logged to the training run in MLflow."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from model.core import paths
from model.core.dataset import features, labels
from model.core.errors import LighthouseError
from model.core.io import write_json
from model.core.metrics import compute_metrics
from model.core.tracking import configure, training_run
from model.stages.stage_inputs import load_held_out


def curves(y_true: np.ndarray, proba: np.ndarray, bins: int) -> dict[str, list[dict[str, Any]]]:
    """Points for the three DVC plots, rounded so the files stay small and diffable."""
    fpr, tpr, _ = skm.roc_curve(y_true, proba, drop_intermediate=True)
    precision, recall, _ = skm.precision_recall_curve(y_true, proba, drop_intermediate=True)
    observed, predicted = calibration_curve(y_true, proba, n_bins=bins, strategy="quantile")

    def rows(**columns: np.ndarray) -> list[dict[str, Any]]:
        keys = list(columns)
        return [
            {k: round(float(v), 4) for k, v in zip(keys, values, strict=True)}
            for values in zip(*columns.values(), strict=True)
        ]

    return {
        "roc": rows(fpr=fpr, tpr=tpr),
        "precision_recall": rows(recall=recall, precision=precision),
        "calibration": rows(predicted=predicted, observed=observed),
    }


def main() -> int:
    try:
        held_out = load_held_out()
    except LighthouseError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    contract, params, model, record, test = (
        held_out.contract,
        held_out.params,
        held_out.model,
        held_out.record,
        held_out.test,
    )
    y_true = labels(test, contract)
    proba = model.predict_proba(features(test, contract))[:, 1]
    values = compute_metrics(y_true, proba, params.evaluate.threshold)
    write_json(paths.METRICS, values)
    for name, points in curves(y_true, proba, params.evaluate.calibration_bins).items():
        write_json(paths.PLOTS / f"{name}.json", points)

    if record.mlflow_run_id:
        mlflow = configure(params.tracking.experiment)
        with training_run(mlflow, record.mlflow_run_id, "evaluate"):
            mlflow.log_metrics({f"test_{k}": v for k, v in values.items()})
            mlflow.log_artifacts(str(paths.PLOTS), artifact_path="plots")
    print("evaluate: " + ", ".join(f"{k}={v:.4f}" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
