"""The model artifact: reproducible bytes, and it loads only when it matches the pipeline's record and holds no type
outside the exact allow-list (crafted files in tests/model/crafted_skops.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from model.core import artifact, paths
from model.core.contract import load_contract
from model.core.dataset import features, labels, typed
from model.core.params import TrainParams, load_params
from model.core.pipeline import build_pipeline
from model.core.provenance import sha256_of
from model.stages.ingest import load_frame
from tests.model.crafted_skops import PAYLOADS, corrupt, plant

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    contract = load_contract(ROOT / paths.CONTRACT)
    frame = typed(load_frame(load_params(ROOT / paths.PARAMS).ingest), contract).head(1500)
    return features(frame, contract), labels(frame, contract)


def _fit(data: tuple[pd.DataFrame, np.ndarray], estimator: str = "hist_gradient_boosting"):  # type: ignore[no-untyped-def]
    params = load_params(ROOT / paths.PARAMS).train.model_copy(update={"estimator": estimator})
    return build_pipeline(load_contract(ROOT / paths.CONTRACT), params).fit(*data)


def _record(saved: artifact.SavedArtifact) -> artifact.ModelRecord:
    return artifact.ModelRecord(
        sha256=saved.sha256,
        trusted_types=saved.trusted_types,
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
    assert first.sha256 == sha256_of(tmp_path / "a" / artifact.ARTIFACT_NAME)
    assert (tmp_path / "a" / artifact.ARTIFACT_NAME).read_bytes() == (
        tmp_path / "b" / artifact.ARTIFACT_NAME
    ).read_bytes()


def test_round_trip_predicts_identically(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    model = _fit(data)
    artifact.write_record(tmp_path, _record(artifact.save(model, tmp_path)))
    loaded, record = artifact.load_verified(tmp_path)
    assert np.array_equal(loaded.predict_proba(data[0]), model.predict_proba(data[0]))
    assert record.sha256 == sha256_of(tmp_path / artifact.ARTIFACT_NAME)
    assert record.trusted_types == ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


def test_refuses_a_tampered_artifact(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    saved = artifact.save(_fit(data), tmp_path)
    artifact.write_record(tmp_path, dataclasses.replace(_record(saved), sha256="0" * 64))
    with pytest.raises(artifact.ArtifactError, match="does not match"):
        artifact.load_verified(tmp_path)


def test_refuses_missing_artifact_or_record(tmp_path: Path) -> None:
    with pytest.raises(artifact.ArtifactError, match="model record not found"):
        artifact.load_verified(tmp_path)
    artifact.write_record(tmp_path, _record(artifact.SavedArtifact("0" * 64, [])))
    with pytest.raises(artifact.ArtifactError, match="model artifact not found"):
        artifact.load_verified(tmp_path)


@pytest.fixture(scope="module")
def saved_model(data, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A verified gradient-boosting artifact and its record (its trees are the one allowed extra type)."""
    target = tmp_path_factory.mktemp("model")
    artifact.write_record(target, _record(artifact.save(_fit(data), target)))
    return target


@pytest.fixture
def model_dir(saved_model: Path, tmp_path: Path) -> Path:
    """A copy of `saved_model` a test may tamper with."""
    target = tmp_path / "model"
    shutil.copytree(saved_model, target)
    return target


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_crafted_artifact_is_refused_before_anything_runs(model_dir: Path, payload: str) -> None:
    marker = model_dir.parent / "payload-ran"
    plant(model_dir, payload, marker)  # the record is re-hashed and lists the payload's type, as an attacker would
    with pytest.raises(artifact.ArtifactError, match=rf"outside the allow-list .*\['{payload}'\]"):
        artifact.load_verified(model_dir)
    assert not marker.exists(), "the payload ran while the artifact was checked"


@pytest.mark.parametrize("payload", ["builtins.exec", "builtins.eval", "os.system"])
def test_the_crafted_artifacts_are_real_exploits(model_dir: Path, payload: str) -> None:
    """Control: skops trusting the file's own types (what a prefix allow-list did for builtins.*) runs the payload."""
    import skops.io as sio

    marker = model_dir.parent / "payload-ran"
    plant(model_dir, payload, marker)
    path = model_dir / artifact.ARTIFACT_NAME
    sio.load(path, trusted=sio.get_untrusted_types(file=path))
    assert marker.read_text() if payload != "os.system" else marker.exists()


def test_a_type_the_record_does_not_list_is_refused(model_dir: Path) -> None:
    record = json.loads((model_dir / artifact.RECORD_NAME).read_text())
    (model_dir / artifact.RECORD_NAME).write_text(json.dumps({**record, "trusted_types": []}))
    with pytest.raises(artifact.ArtifactError, match=r"its record does not list .*TreePredictor"):
        artifact.load_verified(model_dir)


def test_a_record_without_trusted_types_is_refused(model_dir: Path) -> None:
    record = json.loads((model_dir / artifact.RECORD_NAME).read_text())
    del record["trusted_types"]
    (model_dir / artifact.RECORD_NAME).write_text(json.dumps(record))
    with pytest.raises(artifact.ArtifactError, match="no `trusted_types`"):
        artifact.load_verified(model_dir)


def test_a_corrupt_archive_with_a_matching_sha_is_an_artifact_error(model_dir: Path) -> None:
    corrupt(model_dir)
    with pytest.raises(artifact.ArtifactError, match="not a valid skops archive"):
        artifact.load_verified(model_dir)


def test_an_archive_the_writer_never_produces_is_refused(model_dir: Path) -> None:
    """Compressed entries could inflate far beyond the file's size; the writer stores every entry as is."""
    path = model_dir / artifact.ARTIFACT_NAME
    with zipfile.ZipFile(path) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    path.write_bytes(out.getvalue())
    record = json.loads((model_dir / artifact.RECORD_NAME).read_text())
    (model_dir / artifact.RECORD_NAME).write_text(json.dumps({**record, "sha256": sha256_of(path)}))
    with pytest.raises(artifact.ArtifactError, match="not one the artifact writer produces"):
        artifact.load_verified(model_dir)


def test_saving_a_model_with_a_type_outside_the_allow_list_writes_nothing(tmp_path: Path) -> None:
    from sklearn.preprocessing import FunctionTransformer

    with pytest.raises(artifact.ArtifactError, match=r"outside model.core.artifact.ALLOWED_TYPES: \['json.dumps'\]"):
        artifact.save(FunctionTransformer(json.dumps), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_allow_list_is_exactly_what_the_supported_estimators_need(tmp_path: Path, data) -> None:  # type: ignore[no-untyped-def]
    """Each estimator params.yaml may choose saves within ALLOWED_TYPES, and no entry is left that none needs."""
    estimators = get_args(TrainParams.model_fields["estimator"].annotation)
    assert set(estimators) == {"hist_gradient_boosting", "logistic_regression"}, "a new estimator: check its types"
    needed = {t for name in estimators for t in artifact.save(_fit(data, name), tmp_path / name).trusted_types}
    assert needed == artifact.ALLOWED_TYPES
    assert all("*" not in t and not t.endswith(".") for t in artifact.ALLOWED_TYPES)


@pytest.mark.parametrize("field", ["left", "right", "feature_idx"])
def test_a_crafted_tree_that_points_outside_itself_is_refused(model_dir: Path, field: str) -> None:
    """TreePredictor is an allowed type, and scikit-learn follows its indices without bounds checks."""
    import skops.io as sio

    model, _ = artifact.load_verified(model_dir)
    tree = model.steps[-1][1]._predictors[3][0]
    root = 0
    tree.nodes[field][root] = 10**6 if field != "left" else root  # out of range, or a loop back to itself
    data = artifact.reproducible_skops(sio.dumps(model))
    (model_dir / artifact.ARTIFACT_NAME).write_bytes(data)
    record = json.loads((model_dir / artifact.RECORD_NAME).read_text())
    (model_dir / artifact.RECORD_NAME).write_text(json.dumps({**record, "sha256": hashlib.sha256(data).hexdigest()}))
    with pytest.raises(artifact.ArtifactError, match=r"tree 3: node 0 points outside its tree"):
        artifact.load_verified(model_dir)
