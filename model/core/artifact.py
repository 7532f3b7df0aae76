"""The model artifact and its record: saved with skops (no pickle), loaded only when every check passes.

The record (models/model.json) is the pipeline's word on which artifact it produced: its sha256 and the exact types
beyond skops's defaults it holds. A model file is code: skops builds the objects it names, so a crafted file that
names `builtins.exec` runs it. Before anything in the file is built, the loader checks, on the same bytes, that the
sha256 matches the record and that every type skops does not trust by default (`skops.io.get_untrusted_types`) is
both in the record and in ALLOWED_TYPES, an exact list in this file: never a prefix, never the file's own word.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model.core.errors import LighthouseError
from model.core.io import atomic_path, read_json, write_json
from model.core.signing import ArtifactPolicy

ARTIFACT_NAME = "model.skops"
RECORD_NAME = "model.json"
#: Every type, beyond skops's own defaults, that an artifact of a supported estimator (model/core/pipeline.py)
#: holds: full names, compared exactly. A fork adding an estimator adds the types its artifact needs (the error at
#: training names them), in a reviewed change. tests/model/core/test_artifact_types.py keeps this list exact.
ALLOWED_TYPES = frozenset(
    {
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",  # HistGradientBoostingClassifier's trees
    }
)


class ArtifactError(LighthouseError):
    """The model artifact is missing, altered, malformed or of an untrusted type."""


@dataclass(frozen=True)
class ModelRecord:
    """What the pipeline knows about the artifact it wrote."""

    sha256: str
    #: The types beyond skops's defaults the artifact holds (each in ALLOWED_TYPES), as found when it was written.
    trusted_types: list[str]
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


@dataclass(frozen=True)
class SavedArtifact:
    """What `save` wrote: the sha256 and the audited types, both for the record."""

    sha256: str
    trusted_types: list[str]


def save(model: Any, model_dir: Path) -> SavedArtifact:
    """Write the artifact atomically, once its types are known to be allowed (ArtifactError otherwise)."""
    import skops.io as sio

    target = model_dir / ARTIFACT_NAME
    data = reproducible_skops(sio.dumps(model))
    types = audit_types(data, target)
    refused = sorted(set(types) - ALLOWED_TYPES)
    if refused:
        raise ArtifactError(
            f"{target}: the model holds types outside model.core.artifact.ALLOWED_TYPES: {refused}; "
            "add them there only after checking that loading them cannot run code"
        )
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return SavedArtifact(hashlib.sha256(data).hexdigest(), types)


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
        data = read_json(path)
        if isinstance(data, dict) and "trusted_types" not in data:
            raise ArtifactError(f"{path}: no `trusted_types` (a record written before they were kept): retrain")
        record = ModelRecord(**data)
    except (ValueError, TypeError) as exc:
        raise ArtifactError(f"{path}: not a valid model record: {exc}") from exc
    if not isinstance(record.trusted_types, list) or not all(isinstance(t, str) for t in record.trusted_types):
        raise ArtifactError(f"{path}: `trusted_types` must be a list of type names")
    return record


def audit_types(data: bytes, path: Path) -> list[str]:
    """The types in a skops archive that skops does not trust by default, read without building any object.

    Only archives as `save` writes them get this far: uncompressed entries named schema.json and <n>.npy, so
    reading cannot inflate beyond the file's size. Anything skops cannot parse is an ArtifactError.
    """
    import skops.io as sio  # imported only now: refusing a missing or altered artifact takes no second

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                entry = info.filename
                stem = entry.removesuffix(".npy")
                if info.compress_type != zipfile.ZIP_STORED or not (entry == "schema.json" or stem.isdigit()):
                    raise ArtifactError(f"{path}: entry {entry!r} is not one the artifact writer produces")
        return sorted(sio.get_untrusted_types(data=data))
    except ArtifactError:
        raise
    except Exception as exc:  # a malformed archive can fail anywhere in zipfile, json or skops
        raise ArtifactError(f"{path}: not a valid skops archive ({type(exc).__name__}: {exc})") from exc


def load_verified(model_dir: Path, policy: ArtifactPolicy | None = None) -> tuple[Any, ModelRecord]:
    """Load the artifact after checking it against its record, the deployment's `policy` (pinned sha256,
    signature) and ALLOWED_TYPES; raise ArtifactError (SignatureError for the policy) otherwise.

    The file is read once: the hash, the signature, the type audit and the load all see the same bytes.
    """
    record = read_record(model_dir)
    path = model_dir / ARTIFACT_NAME
    if not path.exists():
        raise ArtifactError(f"{path}: model artifact not found")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != record.sha256:
        raise ArtifactError(
            f"{path}: sha256 {actual} does not match {model_dir / RECORD_NAME} ({record.sha256}); refusing to load"
        )
    if policy is not None:
        policy.check(data, actual, path)
    found = audit_types(data, path)
    refused = sorted(set(found) - ALLOWED_TYPES)
    if refused:
        raise ArtifactError(f"{path}: holds types outside the allow-list (ALLOWED_TYPES): {refused}; refusing to load")
    unrecorded = sorted(set(found) - set(record.trusted_types))
    if unrecorded:
        raise ArtifactError(
            f"{path}: holds types its record does not list ({model_dir / RECORD_NAME} trusted_types): {unrecorded}"
        )
    import skops.io as sio

    try:
        model = sio.loads(data, trusted=found)
    except Exception as exc:  # e.g. an entry the schema names is missing
        raise ArtifactError(f"{path}: cannot be loaded ({type(exc).__name__}: {exc})") from exc
    check_tree_predictors(model, path)
    return model, record


def check_tree_predictors(model: Any, path: Path) -> None:
    """Refuse gradient-boosting trees whose node indices leave their tree or loop back.

    scikit-learn's Cython predictor follows `left`/`right` and reads `feature_idx` without bounds checks, so a
    crafted TreePredictor (an allowed type) would make the first prediction read outside its arrays or never end.
    A fitted tree numbers children after their parent, and every index stays inside the tree.
    """
    import numpy as np

    steps = [step for _, step in getattr(model, "steps", [])] or [model]
    for estimator in steps:
        predictors = getattr(estimator, "_predictors", None)
        if not predictors:
            continue
        from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

        n_features = int(getattr(estimator, "n_features_in_", 0))
        for iteration, trees in enumerate(predictors):
            for tree in trees:
                where = f"{path}: tree {iteration}"
                nodes = getattr(tree, "nodes", None)
                if type(tree) is not TreePredictor or not isinstance(nodes, np.ndarray):
                    raise ArtifactError(f"{where}: not a fitted TreePredictor")
                if nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1 or nodes.size == 0:
                    raise ArtifactError(f"{where}: node array of dtype {nodes.dtype}, shape {nodes.shape}")
                inner = np.flatnonzero(nodes["is_leaf"] == 0)
                left, right = nodes["left"][inner].astype(np.int64), nodes["right"][inner].astype(np.int64)
                bad = (left <= inner) | (right <= inner) | (left >= nodes.size) | (right >= nodes.size)
                bad |= nodes["feature_idx"][inner] >= n_features
                categorical = nodes["is_categorical"][inner] != 0
                bitsets = min(len(tree.raw_left_cat_bitsets), len(tree.binned_left_cat_bitsets))
                bad |= categorical & (nodes["bitset_idx"][inner] >= bitsets)
                if bad.any():
                    raise ArtifactError(f"{where}: node {int(inner[bad][0])} points outside its tree; refusing to load")
