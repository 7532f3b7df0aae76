"""The `register` stage: register the trained model as a new version in the MLflow registry.

It runs last, after every check, so a model that failed validation, evaluation or a blocking gate is never
registered. The new version gets the `challenger` alias; promotion to production moves `champion`.
"""

from __future__ import annotations

import sys

from model import artifact, paths
from model.errors import LighthouseError
from model.io import write_json
from model.params import load_params
from model.tracking import configure, tracking_uri

REGISTRATION = paths.REGISTRATION
CHALLENGER_ALIAS = "challenger"


def main() -> int:
    try:
        params = load_params(paths.PARAMS)
        record = artifact.read_record(paths.MODEL_DIR)
    except LighthouseError as exc:
        print(f"register: {exc}", file=sys.stderr)
        return 2
    if not record.mlflow_model_uri:
        print(
            "register: the model record has no MLflow model URI; was train run with tracking?",
            file=sys.stderr,
        )
        return 2
    mlflow = configure(params.tracking.experiment)
    name = params.tracking.registered_model
    version = mlflow.register_model(
        record.mlflow_model_uri,
        name,
        tags={"git_sha": record.git_sha, "data_hash": record.data_hash, "sha256": record.sha256},
    )
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(name, CHALLENGER_ALIAS, version.version)
    write_json(
        REGISTRATION,
        {
            "name": name,
            "version": str(version.version),
            "alias": CHALLENGER_ALIAS,
            "run_id": record.mlflow_run_id,
            "sha256": record.sha256,
            "tracking": "local sqlite" if tracking_uri().startswith("sqlite:") else "server",
        },
    )
    print(f"register: {name} version {version.version} (alias {CHALLENGER_ALIAS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
