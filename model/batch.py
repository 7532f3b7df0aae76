"""`python -m model.batch IN OUT`: score a CSV or Parquet file with the served model, through the server's code.

The same verified artifact, the same contract-derived validation and the same predictor as `model.serve`, so a
batch score and an online score of the same row are identical. Every row is validated before anything is written;
a bad row stops the run naming its row, column, rule and value, and OUT is left untouched. Columns the contract
does not describe (ids, the label of a labelled set) are carried through to OUT unchanged.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from model.core import paths
from model.core.errors import DataValidationError, LighthouseError
from model.core.io import atomic_path
from model.core.signing import ArtifactPolicy
from model.serve.schema import instance_type, problems
from model.serve.service import ModelService

PROBABILITY = "prediction_probability"
LABEL = "prediction_label"
VERSION = "model_version"
FORMATS = (".csv", ".parquet")
CHUNK_ROWS = 10_000
MAX_PROBLEMS = 10


def read_table(path: Path, service: ModelService) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise LighthouseError(f"{path}: unsupported format {suffix!r} (use one of {', '.join(FORMATS)})")
    if not path.exists():
        raise LighthouseError(f"{path}: file not found")
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        # Category columns stay text even when their values look like numbers ("0"/"1").
        text = {c.name: "str" for c in service.contract.columns if c.dtype == "string"}
        return pd.read_csv(path, dtype=text)
    except ImportError as exc:
        raise LighthouseError(f"{path}: reading Parquet needs pyarrow ({exc})") from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataValidationError(f"{path}: cannot be read as {suffix[1:]}: {exc}") from exc


def score(frame: pd.DataFrame, service: ModelService, source: Path) -> pd.DataFrame:
    """Validate every row against the contract, then predict; raise DataValidationError naming the rows."""
    contract = service.contract
    required = [c.name for c in contract.feature_columns if not c.nullable]
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise DataValidationError(f"{source}: missing column(s) {missing} required by the contract")
    clash = [name for name in (PROBABILITY, LABEL, VERSION) if name in frame.columns]
    if clash:
        raise DataValidationError(f"{source}: column(s) {clash} would be overwritten by the predictions")
    known = [c.name for c in contract.columns if c.name in frame.columns]
    adapter: TypeAdapter[Any] = TypeAdapter(cast(Any, list)[instance_type(contract)])
    rows: list[Any] = []
    for start in range(0, len(frame), CHUNK_ROWS):
        records = frame[known].iloc[start : start + CHUNK_ROWS].to_dict(orient="records")
        try:
            rows.extend(adapter.validate_python([_plain(r) for r in records]))
        except ValidationError as exc:
            raise DataValidationError(_describe(exc, source, offset=start)) from None
    probabilities: list[np.ndarray] = []
    labels: list[Any] = []
    for start in range(0, len(rows), CHUNK_ROWS):
        prediction = service.predictor.predict(rows[start : start + CHUNK_ROWS])
        probabilities.append(prediction.probabilities)
        labels.extend(prediction.labels)
    scored = frame.copy()
    scored[PROBABILITY] = np.concatenate(probabilities) if probabilities else np.array([], dtype=float)
    scored[LABEL] = labels
    scored[VERSION] = service.info.model_version
    return scored


def _plain(record: dict[Any, Any]) -> dict[str, Any]:
    """Missing cells (NaN/None from pandas) become absent keys or None, as JSON would carry them."""
    return {str(k): (None if isinstance(v, float) and v != v else v) for k, v in record.items()}


def _describe(exc: ValidationError, source: Path, offset: int) -> str:
    """One line per problem: file, row (from 1, after the header), column, rule, message and value."""
    lines = []
    for err, problem in zip(exc.errors(include_url=False), problems(exc, limit=MAX_PROBLEMS), strict=False):
        row, *column = err["loc"]
        where = f"row {int(row) + offset + 1}" + (f", column {column[0]!r}" if column else "")
        shown = "" if problem.value is None else f" (got {problem.value!r})"
        lines.append(f"{source}: {where}: {problem.rule}: {problem.message}{shown}")
    more = exc.error_count() - len(lines)
    if more > 0:
        lines.append(f"... and {more} more problem(s)")
    return "\n".join(lines)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise LighthouseError(f"{path}: unsupported format {suffix!r} (use one of {', '.join(FORMATS)})")
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.batch", description=__doc__)
    parser.add_argument("input", type=Path, metavar="IN", help="CSV or Parquet file to score")
    parser.add_argument("output", type=Path, metavar="OUT", help="where to write IN plus the predictions")
    parser.add_argument("--model-dir", type=Path, default=paths.MODEL_DIR, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        if args.output.suffix.lower() not in FORMATS:
            raise LighthouseError(f"{args.output}: unsupported format {args.output.suffix!r} (use .csv or .parquet)")
        service = ModelService.load(args.model_dir, policy=ArtifactPolicy.from_env(os.environ))
        frame = read_table(args.input, service)
        scored = score(frame, service, args.input)
        write_table(scored, args.output)
    except DataValidationError as exc:
        print(f"batch: {exc}", file=sys.stderr)
        return 1
    except LighthouseError as exc:
        print(f"batch: {exc}", file=sys.stderr)
        return 2
    print(f"batch: scored {len(scored)} rows of {args.input} with model {service.info.model_version} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
