"""The release record (`release.json`, docs/release-record.md): what runs in an environment, and why it may.

Built from the pipeline's outputs (metrics, fairness, gates, model record, registration) when an image is first
promoted, then copied verbatim, environment aside, to the next environment. Serialised with sorted keys and a
trailing newline, so the same release always has the same bytes and promoting it twice changes nothing.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from model.core.errors import LighthouseError
from model.core.io import dumps_json
from model.core.yaml_config import Frozen, format_validation_error

SCHEMA_VERSION = 1
RECORD_NAME = "release.json"
Environment = Literal["staging", "production"]
ENVIRONMENTS: tuple[Environment, ...] = ("staging", "production")

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
#: A lower-case registry path with at least one slash (`registry[:port]/namespace/name`), no tag, no digest.
REPOSITORY_PATTERN = r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)+$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
#: The local MLflow store (a sqlite file) registers versions nobody else can see; `register` writes this marker.
LOCAL_REGISTRY = "local sqlite"


class ReleaseError(LighthouseError):
    """A release record, or one of the files it is built from, is missing or invalid."""


class ModelInfo(Frozen):
    name: str = Field(min_length=1)
    version: str | None
    mlflow_run_id: str | None
    sha256: str = Field(pattern=SHA256_PATTERN)


class DataInfo(Frozen):
    dvc_hash: str = Field(min_length=1)


class ImageInfo(Frozen):
    repository: str = Field(pattern=REPOSITORY_PATTERN)
    digest: str = Field(pattern=DIGEST_PATTERN)

    @property
    def reference(self) -> str:
        """`repository@digest`: how the overlay pins the image."""
        return f"{self.repository}@{self.digest}"


class GateSummary(Frozen):
    passed: bool
    failed: list[str]

    @model_validator(mode="after")
    def _self_consistent(self) -> GateSummary:
        """`passed: true` beside named failures is a forged or broken record: it must not reach any overlay."""
        if self.passed and self.failed:
            raise ValueError(f"passed is true but failed names {self.failed}: the gates record contradicts itself")
        return self


class ReleaseRecord(Frozen):
    schema_version: Literal[1]
    environment: Environment
    git_sha: str = Field(min_length=1)
    model: ModelInfo
    data: DataInfo
    image: ImageInfo
    metrics: dict[str, float]
    fairness: dict[str, dict[str, float]]
    gates: GateSummary

    @field_validator("metrics")
    @classmethod
    def _finite_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not math.isfinite(v)}
        if bad:
            raise ValueError(f"metrics must be finite numbers, got {bad}")
        return value

    @property
    def identity(self) -> tuple[str, str]:
        """What makes two records the same release: the image digest and the model artifact's sha256."""
        return (self.image.digest, self.model.sha256)

    def for_environment(self, environment: Environment) -> ReleaseRecord:
        return self.model_copy(update={"environment": environment})

    def dumps(self) -> str:
        return dumps_json(self.model_dump(mode="json"))


def parse_image(reference: str) -> ImageInfo:
    """`registry/owner/name@sha256:<64 hex>` → ImageInfo. The repository is lower-cased, as registries require."""
    repository, sep, digest = reference.strip().partition("@")
    if not sep:
        raise ReleaseError(
            f"--image: expected REPOSITORY@sha256:<64 hex> (an image pinned by digest, not a tag), got {reference!r}"
        )
    return make_image(repository, digest, source="--image")


def make_image(repository: str, digest: str, source: str = "image") -> ImageInfo:
    repository = repository.strip().lower()
    if re.search(r":[^/]*$", repository.split("/", 1)[-1]):
        raise ReleaseError(f"{source}: repository {repository!r} carries a tag; give the repository and a digest")
    try:
        return ImageInfo(repository=repository, digest=digest.strip())
    except ValidationError as exc:
        raise ReleaseError(format_validation_error(Path(source), exc)) from exc


def loads(text: str, source: str) -> ReleaseRecord:
    """Parse and validate a release record; `source` names it in errors (a path, or `commit:path`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{source}: not valid JSON: {exc}") from exc
    try:
        return ReleaseRecord.model_validate(data)
    except ValidationError as exc:
        raise ReleaseError(format_validation_error(Path(source), exc)) from exc


def read(path: Path) -> ReleaseRecord:
    return loads(_read_text(path), str(path))


def build(
    *,
    environment: Environment,
    image: ImageInfo,
    metrics: Path,
    fairness: Path,
    gates: Path,
    model_record: Path,
    registration: Path | None,
    model_name: str | None,
) -> ReleaseRecord:
    """Assemble a record from the pipeline's output files; every problem names the file and the field."""
    record = _read_mapping(model_record)
    reg = _read_mapping(registration) if registration is not None else {}
    name = reg.get("name") or model_name
    if not name:
        raise ReleaseError(
            f"model name unknown: {registration or 'no --registration given'} has no `name` and no --model-name "
            "was given (params.yaml tracking.registered_model)"
        )
    if reg.get("sha256") not in (None, record.get("sha256")):
        raise ReleaseError(
            f"{registration}: sha256 {reg.get('sha256')!r} is not the model in {model_record} "
            f"({record.get('sha256')!r}); the registration belongs to another model"
        )
    version = reg.get("version")
    if reg.get("tracking") == LOCAL_REGISTRY:
        version = None  # a version in a private sqlite file means nothing to anyone else
    data = {
        "schema_version": SCHEMA_VERSION,
        "environment": environment,
        "git_sha": record.get("git_sha"),
        "model": {
            "name": name,
            "version": None if version is None else str(version),
            "mlflow_run_id": record.get("mlflow_run_id") or reg.get("run_id"),
            "sha256": record.get("sha256"),
        },
        "data": {"dvc_hash": record.get("data_hash")},
        "image": image.model_dump(),
        "metrics": _numeric_leaves(_read_mapping(metrics), metrics),
        "fairness": summarise_fairness(_read_mapping(fairness), fairness),
        "gates": summarise_gates(_read_mapping(gates), gates),
    }
    try:
        return ReleaseRecord.model_validate(data)
    except ValidationError as exc:
        sources = f"release facts ({model_record}, {metrics}, {fairness}, {gates})"
        raise ReleaseError(format_validation_error(Path(sources), exc)) from exc


def summarise_gates(report: dict[str, Any], source: Path) -> dict[str, Any]:
    """`{passed, failed}` from the gates report: its top-level `passed`, and the names of gates that did not pass."""
    passed = report.get("passed")
    if not isinstance(passed, bool):
        raise ReleaseError(f"{source}: passed: expected true or false, got {passed!r}")
    failed: list[str] = []
    explicit = report.get("failed")
    if isinstance(explicit, list):
        failed = [str(name) for name in explicit]
    for gate in report.get("gates") or []:
        if not isinstance(gate, dict):
            continue
        status = gate.get("passed", gate.get("status"))
        if status is False or (isinstance(status, str) and status.lower() in {"fail", "failed"}):
            failed.append(str(gate.get("name") or gate.get("id") or "unnamed"))
    return {"passed": passed, "failed": sorted(set(failed))}


def summarise_fairness(report: dict[str, Any], source: Path) -> dict[str, dict[str, float]]:
    """Per sensitive attribute, its numeric fairness metrics (e.g. demographic parity difference).

    Accepts `{attribute: {metric: value}}` and the same under an `attributes` key; a nested `metrics` mapping
    per attribute is flattened. Per-group tables and notes are left in the report, not copied into the record.
    """
    attributes = report.get("attributes", report)
    if not isinstance(attributes, dict):
        raise ReleaseError(f"{source}: attributes: expected a mapping of sensitive attribute to metrics")
    summary: dict[str, dict[str, float]] = {}
    for attribute, values in attributes.items():
        if not isinstance(values, dict):
            continue
        flat = {**values, **values.get("metrics", {})} if isinstance(values.get("metrics"), dict) else values
        numbers = {k: float(v) for k, v in flat.items() if _is_number(v)}
        if numbers:
            summary[str(attribute)] = numbers
    return summary


def _numeric_leaves(report: dict[str, Any], source: Path) -> dict[str, float]:
    numbers = {k: float(v) for k, v in report.items() if _is_number(v)}
    if not numbers:
        raise ReleaseError(f"{source}: no numeric metrics found")
    return numbers


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ReleaseError(f"{path}: not found") from exc
    except OSError as exc:
        raise ReleaseError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ReleaseError(f"{path}: expected a JSON object at the top level, got {type(data).__name__}")
    return data
