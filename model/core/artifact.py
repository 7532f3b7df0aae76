"""The model artifact and its record: saved with skops (no pickle), loaded only when its checksum matches.

The record (models/model.json) is the pipeline's word on which artifact it produced; the server and the batch
scorer refuse an artifact whose sha256 differs from it.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model.core.errors import LighthouseError
from model.core.io import atomic_path, read_json, write_json
from model.core.provenance import sha256_of

ARTIFACT_NAME = "model.skops"
RECORD_NAME = "model.json"
#: skops refuses unknown types; these module prefixes are what a scikit-learn pipeline is made of.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


class ArtifactError(LighthouseError):
    """The model artifact is missing, altered or of an untrusted type."""


@dataclass(frozen=True)
class ModelRecord:
    """What the pipeline knows about the artifact it wrote."""

    sha256: str
    estimator: str
    features: list[str]
    classes: dict[str, Any]
    sklearn_version: str
    contract_sha256: str
    data_hash: str
    git_sha: str
    mlflow_run_id: str | None = None
    mlflow_model_uri: str | None = None
    trained_rows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def save(model: Any, model_dir: Path) -> str:
    """Write the artifact atomically; return its sha256."""
    import skops.io as sio

    target = model_dir / ARTIFACT_NAME
    with atomic_path(target) as tmp:
        tmp.write_bytes(reproducible_skops(sio.dumps(model)))
    return sha256_of(target)


def reproducible_skops(data: bytes) -> bytes:
    """The same skops archive with stable bytes, so one model always has one sha256.

    skops keys objects by `id()` (a memory address) and stamps zip entries with the current time; we renumber the
    ids in order of appearance and fix the timestamps. By hand because skops has no option for it.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    ids: dict[int, int] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    value = ids.setdefault(value, len(ids) + 1)
                elif key == "file" and isinstance(value, str) and value.endswith(".npy"):
                    value = f"{ids.setdefault(int(value[:-4]), len(ids) + 1)}.npy"
                out[key] = renumber(value)
            return out
        if isinstance(node, list):
            return [renumber(item) for item in node]
        return node

    entries = {"schema.json": json.dumps(renumber(schema), indent=2, sort_keys=True).encode()}
    for name in source.namelist():
        if name != "schema.json":
            entries[f"{ids[int(name.removesuffix('.npy'))]}.npy"] = source.read(name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name])
    return out.getvalue()


def write_record(model_dir: Path, record: ModelRecord) -> None:
    write_json(model_dir / RECORD_NAME, asdict(record))


def read_record(model_dir: Path) -> ModelRecord:
    path = model_dir / RECORD_NAME
    if not path.exists():
        raise ArtifactError(f"{path}: model record not found (run the pipeline: `make pipeline`)")
    try:
        return ModelRecord(**read_json(path))
    except (ValueError, TypeError) as exc:
        raise ArtifactError(f"{path}: not a valid model record: {exc}") from exc


def load_verified(model_dir: Path) -> tuple[Any, ModelRecord]:
    """Load the artifact after checking it against its record; raise ArtifactError otherwise."""
    record = read_record(model_dir)
    path = model_dir / ARTIFACT_NAME
    if not path.exists():
        raise ArtifactError(f"{path}: model artifact not found")
    actual = sha256_of(path)
    if actual != record.sha256:
        raise ArtifactError(
            f"{path}: sha256 {actual} does not match {model_dir / RECORD_NAME} ({record.sha256}); refusing to load"
        )
    import skops.io as sio  # imported only now: refusing a missing or altered artifact takes no second

    untrusted = sio.get_untrusted_types(file=path)
    rejected = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if rejected:
        raise ArtifactError(f"{path}: contains types outside the trusted set: {rejected}")
    return sio.load(path, trusted=untrusted), record
