"""An example project built in-process from the real example data with the project's own stage code (ingest,
split, the training pipeline, evaluate's metrics, the monitor_reference stage), in a temporary directory.
MLflow is the only part left out: the monitor never reads it. About 5 s, once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn

from model.core import artifact, paths
from model.core.contract import Contract, load_contract
from model.core.dataset import features, labels
from model.core.io import write_json
from model.core.metrics import compute_metrics
from model.core.params import Params, load_params
from model.core.pipeline import build_pipeline

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@dataclass(frozen=True)
class Example:
    root: Path
    contract: Contract
    params: Params
    train: pd.DataFrame
    test: pd.DataFrame
    model: object

    def path(self, relative: Path | str) -> Path:
        return self.root / relative

    def args(self, *extra: str, out: Path | None = None) -> list[str]:
        """CLI arguments pointing at this project's files (and `out` for the reports)."""
        out = out or self.root / "reports"
        return [
            *extra,
            "--reference", str(self.path(paths.REFERENCE_PROFILE)),
            "--model-dir", str(self.path(paths.MODEL_DIR)),
            "--contract", str(self.path(paths.CONTRACT)),
            "--params", str(self.path(paths.PARAMS)),
            "--out", str(out / "drift.json"),
            "--markdown", str(out / "drift.md"),
            "--plots", str(out / "drift"),
        ]  # fmt: skip

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        proba: np.ndarray = self.model.predict_proba(features(frame, self.contract))[:, 1]  # type: ignore[attr-defined]
        return proba


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    from model.monitor import reference
    from model.stages import ingest, split

    root = tmp_path_factory.mktemp("monitor-example")
    for name in (paths.CONTRACT, paths.PARAMS):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    with working_directory(root):
        assert ingest.main([]) == 0
        assert split.main() == 0
        contract, params = load_contract(paths.CONTRACT), load_params(paths.PARAMS)
        train, test = pd.read_parquet(paths.TRAIN_SPLIT), pd.read_parquet(paths.TEST_SPLIT)
        model = build_pipeline(contract, params.train).fit(features(train, contract), labels(train, contract))
        saved = artifact.save(model, paths.MODEL_DIR)
        artifact.write_record(
            paths.MODEL_DIR,
            artifact.ModelRecord(
                sha256=saved.sha256,
                trusted_types=saved.trusted_types,
                estimator=params.train.estimator,
                features=[c.name for c in contract.feature_columns],
                classes={"0": contract.target.negative_label, "1": contract.target.positive_label},
                sklearn_version=sklearn.__version__,
                contract_sha256="test",
                data_hash="test",
                git_sha="test",
                trained_rows=len(train),
            ),
        )
        proba = model.predict_proba(features(test, contract))[:, 1]
        write_json(paths.METRICS, compute_metrics(labels(test, contract), proba, params.evaluate.threshold))
        assert reference.main([]) == 0
    return Example(root, contract, params, train, test, model)
