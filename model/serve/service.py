"""The model a server process serves: the verified artifact, its contract, its provenance and its predictor."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.core import artifact, paths
from model.core.artifact import ArtifactError, ModelRecord
from model.core.contract import Contract, load_contract
from model.core.errors import LighthouseError
from model.core.io import read_json
from model.core.provenance import sha256_of
from model.core.signing import ArtifactPolicy
from model.serve.predictor import Predictor

log = logging.getLogger(__name__)

CONTRACT_NAME = "contract.yaml"
REGISTRATION_NAME = "registration.json"


@dataclass(frozen=True)
class ModelInfo:
    """What /version and lighthouse_model_info report."""

    model_version: str
    git_sha: str
    data_hash: str
    sha256: str
    estimator: str
    sklearn_version: str
    features: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "git_sha": self.git_sha,
            "data_hash": self.data_hash,
            "sha256": self.sha256,
            "estimator": self.estimator,
            "sklearn_version": self.sklearn_version,
            "features": list(self.features),
        }


def contract_path(model_dir: Path) -> Path:
    """The contract shipped next to the model (the image copies it there), else the project's."""
    shipped = model_dir / CONTRACT_NAME
    return shipped if shipped.exists() else paths.CONTRACT


def load_checked_contract(model_dir: Path, record: ModelRecord) -> Contract:
    """The contract the model was trained with: its sha256 must match the record's `contract_sha256`."""
    path = contract_path(model_dir)
    if not path.exists():
        raise ArtifactError(
            f"{path}: data contract not found (put it next to the model as {model_dir / CONTRACT_NAME})"
        )
    actual = sha256_of(path)
    if actual != record.contract_sha256:
        raise ArtifactError(
            f"{path}: sha256 {actual} differs from the contract the model was trained with "
            f"({record.contract_sha256} in {model_dir / artifact.RECORD_NAME}); retrain (`make pipeline`) "
            "or serve with the contract the model was trained with"
        )
    contract = load_contract(path)
    expected = [c.name for c in contract.feature_columns]
    if list(record.features) != expected:
        raise ArtifactError(
            f"{model_dir / artifact.RECORD_NAME}: features {record.features} differ from the contract's {expected}"
        )
    return contract


def model_version(model_dir: Path, record: ModelRecord) -> str:
    """The registry version from registration.json when it describes this artifact, else the sha256's first 12."""
    path = model_dir / REGISTRATION_NAME
    if path.exists():
        try:
            registration = read_json(path)
        except ValueError as exc:
            raise ArtifactError(f"{path}: not valid JSON: {exc}") from exc
        if (
            isinstance(registration, dict)
            and registration.get("sha256") == record.sha256
            and registration.get("version")
        ):
            return str(registration["version"])
        log.warning("%s describes another artifact; using the artifact's sha256 as the version", path)
    return record.sha256[:12]


@dataclass(frozen=True)
class ModelService:
    """Everything loaded and checked once at start; shared read-only by every request."""

    contract: Contract
    info: ModelInfo
    predictor: Predictor
    pipeline: Any

    @classmethod
    def load(cls, model_dir: Path, threads: int | None = None, policy: ArtifactPolicy | None = None) -> ModelService:
        """Verify and load; raise a LighthouseError naming the file and the problem otherwise.

        `policy`: what the deployment demands beyond the record (MODEL_SHA256, MODEL_SIGNING_KEY).

        `threads` caps OpenMP/BLAS threads in this process (the server uses 1: one request is far too small to
        share, and on busy cores idle OpenMP threads spinning cost more than they save).
        """
        pipeline, record = artifact.load_verified(model_dir, policy)
        if threads is not None:
            from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

            threadpool_limits(limits=threads)
        contract = load_checked_contract(model_dir, record)
        try:
            predictor = Predictor(pipeline, contract, record.classes)
        except ValueError as exc:
            raise ArtifactError(f"{model_dir / artifact.RECORD_NAME}: {exc}") from exc
        info = ModelInfo(
            model_version=model_version(model_dir, record),
            git_sha=record.git_sha,
            data_hash=record.data_hash,
            sha256=record.sha256,
            estimator=record.estimator,
            sklearn_version=record.sklearn_version,
            features=tuple(record.features),
        )
        return cls(contract=contract, info=info, predictor=predictor, pipeline=pipeline)


__all__ = ["LighthouseError", "ModelInfo", "ModelService"]
