"""Loading a model for serving: the contract it was trained with, its version, and only trusted types."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from model.core import artifact
from model.core.artifact import ArtifactError
from model.serve.service import ModelService
from tests.model.serve.training import TrainedModel


@pytest.fixture
def model_copy(trained: TrainedModel, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(trained.model_dir, target)
    return target


def test_loads_and_reports_provenance(trained: TrainedModel) -> None:
    service = ModelService.load(trained.model_dir)
    assert service.info.model_version == trained.record.sha256[:12]
    assert service.info.git_sha == trained.record.git_sha
    assert service.info.data_hash == trained.record.data_hash
    assert service.contract.name == trained.contract.name


def test_registry_version_when_registration_matches(model_copy: Path, trained: TrainedModel) -> None:
    (model_copy / "registration.json").write_text(json.dumps({"version": "7", "sha256": trained.record.sha256}))
    assert ModelService.load(model_copy).info.model_version == "7"


def test_stale_registration_is_ignored(model_copy: Path, trained: TrainedModel) -> None:
    (model_copy / "registration.json").write_text(json.dumps({"version": "7", "sha256": "0" * 64}))
    assert ModelService.load(model_copy).info.model_version == trained.record.sha256[:12]


def test_a_different_contract_is_refused(model_copy: Path) -> None:
    contract = model_copy / "contract.yaml"
    contract.write_text(contract.read_text() + "\n# edited after training\n")
    with pytest.raises(ArtifactError, match=r"contract.yaml: sha256 .* differs from the contract the model was"):
        ModelService.load(model_copy)


def test_untrusted_types_are_refused(trained: TrainedModel, tmp_path: Path) -> None:
    """skops never loads a type outside the allow-list, even when the checksum and the record's list match (the
    writer refuses such a model, so the bytes are written directly, as an attacker would)."""
    import skops.io as sio

    column = trained.contract.feature_columns[0].name
    pipeline = Pipeline(
        [
            ("preprocess", ColumnTransformer([("f", FunctionTransformer(json.dumps), [column])])),
            ("estimator", LogisticRegression()),
        ]
    )
    target = tmp_path / "evil"
    shutil.copytree(trained.model_dir, target)
    record = artifact.read_record(target)
    data = artifact.reproducible_skops(sio.dumps(pipeline))
    (target / artifact.ARTIFACT_NAME).write_bytes(data)
    forged = {**record.__dict__, "sha256": hashlib.sha256(data).hexdigest(), "trusted_types": ["json.dumps"]}
    artifact.write_record(target, artifact.ModelRecord(**forged))
    with pytest.raises(ArtifactError, match=r"types outside the allow-list \(ALLOWED_TYPES\): \['json.dumps'\]"):
        ModelService.load(target)
