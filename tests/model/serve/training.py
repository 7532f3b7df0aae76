"""A small model trained with the project's own code into a directory: what the server tests serve.

The tests do not depend on `make pipeline` having run: this trains on the example data, with the contract, the
pipeline builder and the artifact writer the train stage uses, in about a second.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sklearn
from sklearn.model_selection import train_test_split

from model.core import artifact, paths
from model.core.contract import Contract, load_contract
from model.core.dataset import features, labels, typed
from model.core.params import Params, load_params
from model.core.pipeline import build_pipeline
from model.core.provenance import md5_of, sha256_of
from model.stages.ingest import load_frame
from tests.model.serve.helpers import ROOT


@dataclass(frozen=True)
class TrainedModel:
    model_dir: Path
    contract: Contract
    pipeline: Any
    record: artifact.ModelRecord
    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def x_test(self) -> pd.DataFrame:
        return features(self.test, self.contract)

    def instances(self, rows: pd.DataFrame | None = None) -> list[dict[str, Any]]:
        """Held-out rows as JSON-ready instances (feature columns only)."""
        frame = self.x_test if rows is None else features(rows, self.contract)
        return frame.to_dict(orient="records")


def small_params(estimator: str = "hist_gradient_boosting") -> Params:
    params = load_params(ROOT / paths.PARAMS)
    train = params.train.model_copy(
        update={
            "estimator": estimator,
            "hist_gradient_boosting": params.train.hist_gradient_boosting.model_copy(update={"max_iter": 40}),
        }
    )
    return params.model_copy(update={"train": train})


def train_model(model_dir: Path, estimator: str = "hist_gradient_boosting") -> TrainedModel:
    """Train on the example data exactly as the train stage does, and write the artifact, record and contract."""
    contract = load_contract(ROOT / paths.CONTRACT)
    params = small_params(estimator)
    frame = typed(load_frame(params.ingest)[contract.all_columns], contract)
    train, test = train_test_split(
        frame, test_size=params.split.test_size, random_state=params.split.seed, stratify=labels(frame, contract)
    )
    pipeline = build_pipeline(contract, params.train).fit(features(train, contract), labels(train, contract))
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / paths.CONTRACT, model_dir / "contract.yaml")
    raw = model_dir / "raw.csv"
    frame.to_csv(raw, index=False)
    saved = artifact.save(pipeline, model_dir)
    record = artifact.ModelRecord(
        sha256=saved.sha256,
        trusted_types=saved.trusted_types,
        estimator=params.train.estimator,
        features=[c.name for c in contract.feature_columns],
        classes={"0": contract.target.negative_label, "1": contract.target.positive_label},
        sklearn_version=sklearn.__version__,
        contract_sha256=sha256_of(model_dir / "contract.yaml"),
        data_hash=md5_of(raw),
        git_sha="0123456789abcdef0123456789abcdef01234567",
        trained_rows=len(train),
    )
    raw.unlink()
    artifact.write_record(model_dir, record)
    return TrainedModel(
        model_dir, contract, pipeline, record, train.reset_index(drop=True), test.reset_index(drop=True)
    )
