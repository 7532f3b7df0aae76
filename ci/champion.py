"""The champion: the model running in production, known from its release record in git (docs/release-record.md).

The `champion` pipeline stage snapshots that record (or its absence) into reports/champion.json. The stage always
runs (the record is written by promotions, outside the pipeline, and may not exist, so it cannot be a DVC
dependency) but rewrites the same bytes while the record is unchanged, so the gates rerun only when it changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ci.release_record import RECORD_NAME, ReleaseRecord, read
from model.core import paths
from model.core.errors import LighthouseError
from model.core.io import write_json
from model.core.params import GatesParams, load_params

NO_CHAMPION = "no champion yet"


def read_record(path: Path) -> ReleaseRecord | None:
    """The release record at `path` (validated by ci.release_record, the promotion tool's own reader), None when
    there is none; a malformed record is a ReleaseError naming the file and field."""
    return read(path) if path.exists() else None


def record_path(gates: GatesParams) -> Path:
    """Where the champion's release record lives: `release.json` in the production overlay."""
    return Path(gates.champion_overlay) / RECORD_NAME


def snapshot(root: Path) -> dict[str, Any]:
    """What reports/champion.json holds: the record as read (validated), or why there is none."""
    source = str(record_path(load_params(root / paths.PARAMS).gates))
    record = read_record(root / source)
    if record is None:
        return {"present": False, "source": source, "note": f"{NO_CHAMPION}: {source} does not exist"}
    return {"present": True, "source": source, "note": "", "record": record.model_dump(mode="json")}


def champion_from_snapshot(data: dict[str, Any]) -> ReleaseRecord | None:
    """The record inside a snapshot (validated again: the snapshot is a file like any other), or None."""
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
