"""The champion: the model running in production, known from its release record in git (docs/release-record.md).

The `champion` pipeline stage snapshots that record (or its absence) into reports/champion.json. The stage always
runs (the record is written by promotions, outside the pipeline, and may not exist, so it cannot be a DVC
dependency) but rewrites the same bytes while the record is unchanged, so the gates rerun only when it changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from model import paths
from model.errors import ConfigError, LighthouseError
from model.io import read_json, write_json
from model.params import load_params
from model.yaml_config import format_validation_error

NO_CHAMPION = "no champion yet"


class _Lenient(BaseModel):
    """Release records may gain keys (the promotion tool owns the format): keep unknown keys, check known ones."""

    model_config = ConfigDict(frozen=True, extra="allow")


class ReleasedModel(_Lenient):
    name: str = Field(min_length=1)
    version: str | None = None
    mlflow_run_id: str | None = None
    sha256: str = Field(min_length=1)


class ReleasedData(_Lenient):
    dvc_hash: str | None = None


class ReleasedImage(_Lenient):
    repository: str | None = None
    digest: str | None = None


class ReleasedGates(_Lenient):
    passed: bool | None = None
    failed: list[str] = Field(default_factory=list)


class ReleaseRecord(_Lenient):
    """The fields of a release record the gates and reports read."""

    schema_version: Literal[1]
    environment: str = ""
    git_sha: str = ""
    model: ReleasedModel
    data: ReleasedData = Field(default_factory=ReleasedData)
    image: ReleasedImage = Field(default_factory=ReleasedImage)
    metrics: dict[str, float]
    fairness: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    gates: ReleasedGates = Field(default_factory=ReleasedGates)


def read_record(path: Path) -> ReleaseRecord | None:
    """The release record at `path`, None when there is none; a malformed record is a ConfigError naming it."""
    if not path.exists():
        return None
    try:
        data = read_json(path)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(data).__name__}")
    try:
        return ReleaseRecord.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from exc


def snapshot(root: Path) -> dict[str, Any]:
    """What reports/champion.json holds: the record as read (validated), or why there is none."""
    source = load_params(root / paths.PARAMS).gates.champion_record
    record = read_record(root / source)
    if record is None:
        return {"present": False, "source": source, "note": f"{NO_CHAMPION}: {source} does not exist"}
    return {"present": True, "source": source, "note": "", "record": record.model_dump(mode="json")}


def champion_from_snapshot(data: dict[str, Any]) -> ReleaseRecord | None:
    """The record inside a snapshot (already validated when it was written), or None."""
    return ReleaseRecord.model_validate(data["record"]) if data.get("present") else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.champion", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(), help="project root holding params.yaml and reports/")
    args = parser.parse_args(argv)
    try:
        data = snapshot(args.root)
    except LighthouseError as exc:
        print(f"champion: {exc}", file=sys.stderr)
        return 2
    write_json(args.root / paths.CHAMPION_SNAPSHOT, data)
    if data["present"]:
        model = data["record"]["model"]
        print(f"champion: {model['name']} version {model['version']} from {data['source']}")
    else:
        print(f"champion: {data['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
