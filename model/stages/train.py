"""The `train` stage: fit the Pipeline on the train split, save it with its record, and track the run in MLflow.

The run holds params, the data hash (DVC md5), the contract hash and the git commit, and the model itself; the
model version is registered later, by the `register` stage, only once evaluation (and the gates) passed.
"""

from __future__ import annotations

import sys
import warnings

import pandas as pd
import sklearn

from model.core import artifact, paths
from model.core.contract import load_contract
from model.core.dataset import features, labels
from model.core.errors import LighthouseError
from model.core.params import load_params
from model.core.pipeline import build_pipeline
from model.core.provenance import git_sha, md5_of, sha256_of
from model.core.tracking import configure


def main() -> int:
    try:
        contract = load_contract(paths.CONTRACT)
        params = load_params(paths.PARAMS)
    except LighthouseError as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    train = pd.read_parquet(paths.TRAIN_SPLIT)
    x_train, y_train = features(train, contract), labels(train, contract)
    pipeline = build_pipeline(contract, params.train).fit(x_train, y_train)

    try:
        saved = artifact.save(pipeline, paths.MODEL_DIR)  # refuses a model holding a type outside ALLOWED_TYPES
    except LighthouseError as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    mlflow = configure(params.tracking.experiment)
    from mlflow.models import infer_signature

    provenance = {
        "git_sha": git_sha(),
        "data_hash": md5_of(paths.RAW_DATA),
        "contract_sha256": sha256_of(paths.CONTRACT),
    }  # the same three facts go to the MLflow run's tags and to the model record
    with mlflow.start_run() as run:
        mlflow.log_params({"estimator": params.train.estimator, **params.train.estimator_params()})
        mlflow.log_params({"split_test_size": params.split.test_size, "split_seed": params.split.seed})
        mlflow.log_params({"train_rows": len(train), "features": ",".join(x_train.columns)})
        mlflow.set_tags(provenance)
        sample = x_train.head(50)
        with warnings.catch_warnings():  # integer columns: MLflow warns they cannot hold missing values
            warnings.simplefilter("ignore", UserWarning)
            signature = infer_signature(sample, pipeline.predict_proba(sample))
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=signature,
            serialization_format="skops",
            skops_trusted_types=saved.trusted_types,
            # Pinned from this environment: faster and more honest than MLflow inferring them from the lock file.
            pip_requirements=_serving_requirements(),
        )
    artifact.write_record(
        paths.MODEL_DIR,
        artifact.ModelRecord(
            sha256=saved.sha256,
            trusted_types=saved.trusted_types,
            estimator=params.train.estimator,
            features=list(x_train.columns),
            classes={"0": contract.target.negative_label, "1": contract.target.positive_label},
            sklearn_version=sklearn.__version__,
            mlflow_run_id=run.info.run_id,
            mlflow_model_uri=info.model_uri,
            trained_rows=len(train),
            git_sha=provenance["git_sha"],
            data_hash=provenance["data_hash"],
            contract_sha256=provenance["contract_sha256"],
        ),
    )
    print(f"train: {params.train.estimator} fitted on {len(train)} rows; MLflow run {run.info.run_id}")
    return 0


def _serving_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "skops", "numpy", "scipy", "pandas")]


if __name__ == "__main__":
    sys.exit(main())
