"""MLflow set-up: a local sqlite store by default, a tracking server when MLFLOW_TRACKING_URI says so."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The embedded default: one file in the project, artifacts beside it. Both are git-ignored.
LOCAL_DB = Path("mlflow.db")
LOCAL_ARTIFACTS = Path("mlartifacts")
#: The alias the `register` stage gives each new, gated version (promotion moves `champion`).
CHALLENGER_ALIAS = "challenger"
#: The model-version tag holding the artifact's sha256: the register stage writes it, promotion, verification and
#: the consistency check compare it with the model record and the release record.
MODEL_SHA256_TAG = "model_sha256"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{LOCAL_DB.resolve()}"


def is_local(uri: str) -> bool:
    return uri.startswith("sqlite:")


def configure(experiment: str) -> Any:
    """Point MLflow at the store and make sure the experiment exists; return the mlflow module."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        location = LOCAL_ARTIFACTS.resolve().as_uri() if is_local(uri) else None
        mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    return mlflow


@contextmanager
def training_run(mlflow: Any, run_id: str, stage: str) -> Iterator[Any]:
    """Resume the training run a model record names, so a stage's metrics land beside the model's parameters.

    A `train` stage restored from DVC's run cache names a run in the store that trained it, which may not be the
    store in force (a fresh runner, a cluster job's server): then log to a new run that says where it came from
    instead of failing the stage.
    """
    from mlflow.exceptions import MlflowException

    try:
        mlflow.get_run(run_id)
    except MlflowException:
        print(f"{stage}: MLflow run {run_id} is not in {tracking_uri()}: logging to a new run", file=sys.stderr)
        with mlflow.start_run(tags={"lighthouse.trained_in_run": run_id, "lighthouse.stage": stage}) as run:
            yield run
        return
    with mlflow.start_run(run_id=run_id) as run:
        yield run
