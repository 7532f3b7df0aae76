"""The model artifact: reproducible bytes, and it loads only when it matches the pipeline's record."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.core import artifact, paths
from model.core.contract import load_contract
from model.core.dataset import features, labels, typed
from model.core.params import load_params
from model.core.pipeline import build_pipeline
from model.stages.ingest import load_frame

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    contract = load_contract(ROOT / paths.CONTRACT)
    frame = typed(load_frame(load_params(ROOT / paths.PARAMS).ingest), contract).head(1500)
    return features(frame, contract), labels(frame, contract)


def _fit(data: tuple[pd.DataFrame, np.ndarray], estimator: str = "hist_gradient_boosting"):  # type: ignore[no-untyped-def]
    params = load_params(ROOT / paths.PARAMS).train.model_copy(update={"estimator": estimator})
    return build_pipeline(load_contract(ROOT / paths.CONTRACT), params).fit(*data)


def _record(sha: str) -> artifact.ModelRecord:
    return artifact.ModelRecord(
        sha256=sha,
        estimator="x",
        features=[],
        classes={},
        sklearn_version="",
        contract_sha256="",
        data_hash="",
        git_sha="",
    )


@pytest.mark.parametrize("estimator", ["hist_gradient_boosting", "logistic_regression"])
def test_same_training_gives_the_same_bytes(tmp_path: Path, data, estimator: str) -> None:  # type: ignore[no-untyped-def]
    first = artifact.save(_fit(data, estimator), tmp_path / "a")
    second = artifact.save(_fit(data, estimator), tmp_path / "b")
    assert first == second
    assert (tmp_path / "a" / artifact.ARTIFACT_NAME).read_bytes() == (
        tmp_path / "b" / artifact.ARTIFACT_NAME
    ).read_bytes()


def test_round_trip_predicts_identically(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    model = _fit(data)
    artifact.write_record(tmp_path, _record(artifact.save(model, tmp_path)))
    loaded, record = artifact.load_verified(tmp_path)
    assert np.array_equal(loaded.predict_proba(data[0]), model.predict_proba(data[0]))
    assert record.sha256 == artifact.sha256_of(tmp_path / artifact.ARTIFACT_NAME)


def test_refuses_a_tampered_artifact(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    sha = artifact.save(_fit(data), tmp_path)
    artifact.write_record(tmp_path, dataclasses.replace(_record(sha), sha256="0" * 64))
    with pytest.raises(artifact.ArtifactError, match="does not match"):
        artifact.load_verified(tmp_path)


def test_refuses_missing_artifact_or_record(tmp_path: Path) -> None:
    with pytest.raises(artifact.ArtifactError, match="model record not found"):
        artifact.load_verified(tmp_path)
    artifact.write_record(tmp_path, _record("0" * 64))
    with pytest.raises(artifact.ArtifactError, match="model artifact not found"):
        artifact.load_verified(tmp_path)


def test_refuses_untrusted_types(tmp_path: Path) -> None:
    import collections

    import skops.io as sio

    payload = {"counter": collections.OrderedDict(a=1), "odd": pd.Timestamp("2024-01-01")}
    target = tmp_path / artifact.ARTIFACT_NAME
    target.write_bytes(sio.dumps(payload))
    artifact.write_record(tmp_path, _record(artifact.sha256_of(target)))
    with pytest.raises(artifact.ArtifactError, match="outside the trusted set"):
        artifact.load_verified(tmp_path)
