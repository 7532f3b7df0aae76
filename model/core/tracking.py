"""MLflow set-up: a local sqlite store by default, a tracking server when MLFLOW_TRACKING_URI says so."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: The embedded default: one file in the project, artifacts beside it. Both are git-ignored.
LOCAL_DB = Path("mlflow.db")
LOCAL_ARTIFACTS = Path("mlartifacts")
#: The alias the `register` stage gives each new, gated version (promotion moves `champion`).
CHALLENGER_ALIAS = "challenger"


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
