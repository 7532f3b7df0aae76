"""The `ingest` stage: materialise the raw dataset as data/raw.csv so the pipeline runs offline.

A fork replaces this stage (or `ingest.loader` in params.yaml) with its own source. The loader must return a
DataFrame holding the contract's columns and target; anything else is reported, never silently fixed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from model.core import paths
from model.core.contract import load_contract
from model.core.errors import LighthouseError
from model.core.io import atomic_path
from model.core.params import IngestParams, load_params


def resolve_loader(spec: str) -> Callable[..., Any]:
    module_name, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise LighthouseError(f"{paths.PARAMS}: ingest.loader {spec!r} cannot be imported: {exc}") from exc


def load_frame(params: IngestParams) -> pd.DataFrame:
    frame = resolve_loader(params.loader)(**params.loader_kwargs)
    if isinstance(frame, tuple):  # scikit-learn's (X, y) convention
        features, target = frame
        frame = pd.concat([features, target], axis=1)
    if not isinstance(frame, pd.DataFrame):
        raise LighthouseError(f"ingest.loader {params.loader!r} returned {type(frame).__name__}, not a DataFrame")
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.stages.ingest", description=__doc__)
    parser.add_argument("--out", type=Path, default=paths.RAW_DATA)
    args = parser.parse_args(argv)
    try:
        contract = load_contract(paths.CONTRACT)
        frame = load_frame(load_params(paths.PARAMS).ingest)
    except LighthouseError as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 2
    # Keep the contract's column order; unknown or missing columns are left for `validate` to report.
    ordered = [c for c in contract.all_columns if c in frame.columns]
    frame = frame[ordered + [c for c in frame.columns if c not in ordered]]
    with atomic_path(args.out) as tmp:
        frame.to_csv(tmp, index=False)
    print(f"ingest: wrote {len(frame)} rows x {frame.shape[1]} columns to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
