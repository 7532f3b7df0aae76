"""Read what the monitor judges: a window of the inference log (a directory of JSON-lines or Parquet files written
by model/serve/inference_log.py) or any batch file (CSV, Parquet, JSON lines), optionally joined with delayed labels.

Anything unreadable is a BadInputError naming the file, the line or column, and the rule it broke.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from model.core.contract import Contract
from model.core.errors import LighthouseError
from model.serve.inference_log import FINISHED_SUFFIX, INDEX, INSTANCE, MODEL_VERSION, PROBABILITY, REQUEST_ID, TS

BATCH_SUFFIXES = (".csv", ".parquet", ".jsonl", ".json")
LOG_PATTERNS = (f"*{FINISHED_SUFFIX}", "*.parquet")
#: Columns a batch file may carry besides the contract's: scores already computed, and join keys for labels.
OPTIONAL_COLUMNS = (PROBABILITY, REQUEST_ID, INDEX)
RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
#: A file's records are older than its modification time; allow this much clock skew when skipping files.
MTIME_SLACK_SECONDS = 300


class BadInputError(LighthouseError):
    """The window or batch cannot be judged: unreadable, empty, missing columns or of the wrong types."""


@dataclass(frozen=True)
class Window:
    """The rows to judge: the contract's columns as read (types unchecked) plus what the log adds."""

    kind: Literal["logs", "batch"]
    source: str
    frame: pd.DataFrame
    probabilities: np.ndarray | None = None
    request_ids: np.ndarray | None = None
    indices: np.ndarray | None = None
    timestamps: np.ndarray | None = None
    files: list[str] = field(default_factory=list)
    model_versions: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.frame)

    def describe(self) -> dict[str, Any]:
        ts = self.timestamps
        finite = ts[np.isfinite(ts)] if ts is not None else np.empty(0)
        return {
            "kind": self.kind,
            "source": self.source,
            "rows": self.rows,
            "files": len(self.files) if self.kind == "logs" else 1,
            "first": _iso(float(finite.min())) if finite.size else None,
            "last": _iso(float(finite.max())) if finite.size else None,
            "model_versions": self.model_versions,
        }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str, now: float | None = None) -> float:
    """Epoch seconds from ISO 8601 (`2026-11-26T06:00:00Z`; no zone means UTC) or a duration ago (`24h`, `7d`)."""
    now = time.time() if now is None else now
    relative = RELATIVE.match(text.strip())
    if relative:
        amount, unit = float(relative.group(1)), relative.group(2)
        return now - amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInputError(
            f"time {text!r}: not ISO 8601 (2026-11-26T06:00:00Z) or a duration ago (30m, 24h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# --- the inference log -------------------------------------------------------------------------------------------


def read_logs(directory: Path, since: float | None = None, until: float | None = None) -> Window:
    """Every finished log file in `directory` (recursively), rows with since <= ts < until."""
    if not directory.is_dir():
        raise BadInputError(f"{directory}: not a directory (rule: --logs names the inference log directory)")
    paths = sorted({p for pattern in LOG_PATTERNS for p in directory.rglob(pattern)})
    if not paths:
        raise BadInputError(
            f"{directory}: no inference log files ({', '.join(LOG_PATTERNS)}) (rule: a window holds log files)"
        )
    if since is not None:
        paths = [p for p in paths if p.stat().st_mtime >= since - MTIME_SLACK_SECONDS]
    frames = [_read_log_file(path) for path in paths]
    table = pd.concat(frames, ignore_index=True) if frames else _empty_log_frame()
    ts = pd.to_numeric(table[TS], errors="coerce").to_numpy(dtype=float)
    keep = np.ones(len(table), dtype=bool)
    if since is not None:
        keep &= ts >= since
    if until is not None:
        keep &= ts < until
    if not keep.all():
        table = table.loc[keep].reset_index(drop=True)
        ts = ts[keep]
    versions = table[MODEL_VERSION].astype(str).value_counts() if len(table) else pd.Series(dtype=int)
    probabilities = pd.to_numeric(table[PROBABILITY], errors="coerce").to_numpy(dtype=float)
    return Window(
        kind="logs",
        source=str(directory),
        frame=table.drop(columns=[TS, REQUEST_ID, INDEX, MODEL_VERSION, PROBABILITY]),
        probabilities=probabilities,
        request_ids=table[REQUEST_ID].astype(str).to_numpy(),
        indices=pd.to_numeric(table[INDEX], errors="coerce").fillna(-1).to_numpy(dtype=np.int64),
        timestamps=ts,
        files=[str(p) for p in paths],
        model_versions={str(k): int(v) for k, v in versions.items()},
    )


def _empty_log_frame() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in (TS, REQUEST_ID, INDEX, MODEL_VERSION, PROBABILITY)})


def _read_log_file(path: Path) -> pd.DataFrame:
    """One log file as a flat frame: the record's fields, then one column per instance key."""
    if path.stat().st_size == 0:
        return _empty_log_frame()
    if path.suffix == ".parquet":
        frame = _read_parquet(path)
    else:
        try:
            frame = _read_json_lines_fast(path)
        except Exception:  # mixed types or a broken line: the slow reader says exactly where
            frame = _read_json_lines_slow(path)
    frame = frame.rename(columns=lambda c: c.removeprefix(f"{INSTANCE}.") if isinstance(c, str) else c)
    missing = [name for name in (TS, PROBABILITY) if name not in frame.columns]
    if missing:
        raise BadInputError(
            f"{path}: records lack {missing} (rule: inference log record, model/serve/inference_log.py)"
        )
    for name in (REQUEST_ID, INDEX, MODEL_VERSION):
        if name not in frame.columns:
            frame[name] = None
    return frame


def _read_json_lines_fast(path: Path) -> pd.DataFrame:
    """pyarrow's multithreaded JSON reader; nested `instance` objects become `instance.<key>` columns."""
    from pyarrow import json as pa_json

    table = pa_json.read_json(path, read_options=pa_json.ReadOptions(block_size=1 << 24))
    frame: pd.DataFrame = table.flatten().to_pandas()
    return frame


def _read_json_lines_slow(path: Path) -> pd.DataFrame:
    records = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInputError(
                    f"{path}:{number}: not valid JSON ({exc.msg}) (rule: one JSON object per line)"
                ) from None
            if not isinstance(record, dict) or not isinstance(record.get(INSTANCE, {}), dict):
                raise BadInputError(
                    f"{path}:{number}: expected an object with an object `{INSTANCE}` (rule: inference log record)"
                )
            records.append(record)
    return pd.json_normalize(records) if records else _empty_log_frame()


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise BadInputError(f"{path}: not a readable Parquet file ({_first_line(exc)}) (rule: parseable file)") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


# --- batch files -------------------------------------------------------------------------------------------------


def read_table(path: Path) -> pd.DataFrame:
    """A CSV, Parquet or JSON-lines file as a frame, types as inferred (checked later against the contract)."""
    if not path.exists():
        raise BadInputError(f"{path}: file not found (rule: file exists)")
    if path.is_dir():
        raise BadInputError(f"{path}: is a directory (rule: a batch is one file; use --logs for a log directory)")
    if path.suffix not in BATCH_SUFFIXES:
        raise BadInputError(f"{path}: unsupported file type {path.suffix!r} (rule: one of {', '.join(BATCH_SUFFIXES)})")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path}: the file is empty (rule: non-empty file with a header)")
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path)
        if path.suffix == ".parquet":
            return _read_parquet(path)
        return pd.read_json(path, lines=path.suffix == ".jsonl")
    except BadInputError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise BadInputError(
            f"{path}: cannot be parsed ({_first_line(exc)}) (rule: parseable {path.suffix} file)"
        ) from exc


def read_batch(path: Path, contract: Contract) -> Window:
    """A batch file: the contract's feature columns (and the target, `probability`, join keys when present)."""
    if path.suffix == ".jsonl" and _looks_like_log(path):
        return replace(read_logs_file(path), kind="batch")
    frame = read_table(path)
    if frame.empty:
        raise BadInputError(f"{path}: no rows (rule: a batch holds at least one row)")
    probabilities = None
    if PROBABILITY in frame.columns:
        probabilities = pd.to_numeric(frame[PROBABILITY], errors="coerce").to_numpy(dtype=float)
    keep = [c.name for c in contract.columns if c.name in frame.columns]
    if contract.target.column in frame.columns:
        keep.append(contract.target.column)
    return Window(
        kind="batch",
        source=str(path),
        frame=frame[keep].reset_index(drop=True),
        probabilities=probabilities,
        request_ids=frame[REQUEST_ID].astype(str).to_numpy() if REQUEST_ID in frame.columns else None,
        indices=frame[INDEX].to_numpy() if INDEX in frame.columns else None,
        files=[str(path)],
    )


def _looks_like_log(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and INSTANCE in record


def read_logs_file(path: Path) -> Window:
    """One inference log file given as a batch."""
    frame = _read_log_file(path)
    return Window(
        kind="logs",
        source=str(path),
        frame=frame.drop(columns=[TS, REQUEST_ID, INDEX, MODEL_VERSION, PROBABILITY]),
        probabilities=pd.to_numeric(frame[PROBABILITY], errors="coerce").to_numpy(dtype=float),
        request_ids=frame[REQUEST_ID].astype(str).to_numpy(),
        indices=pd.to_numeric(frame[INDEX], errors="coerce").fillna(-1).to_numpy(dtype=np.int64),
        timestamps=pd.to_numeric(frame[TS], errors="coerce").to_numpy(dtype=float),
        files=[str(path)],
    )


# --- checks and delayed labels -----------------------------------------------------------------------------------


def require_columns(window: Window, contract: Contract) -> None:
    """Every feature the model needs is present (a missing column makes the whole window unjudgeable)."""
    missing = [c.name for c in contract.feature_columns if c.name not in window.frame.columns]
    if missing:
        present = sorted(str(c) for c in window.frame.columns)
        raise BadInputError(
            f"{window.source}: missing column(s) {missing} (rule: every contract feature is present; found {present})"
        )


def attach_labels(window: Window, labels_path: Path, contract: Contract) -> Window:
    """Join delayed labels by `request_id` (and `index`, the position in the request, when the file has it)."""
    target = contract.target.column
    labels = read_table(labels_path)
    missing = [name for name in (REQUEST_ID, target) if name not in labels.columns]
    if missing:
        raise BadInputError(
            f"{labels_path}: missing column(s) {missing} (rule: labels carry {REQUEST_ID!r} and {target!r})"
        )
    if window.request_ids is None:
        raise BadInputError(
            f"{window.source}: has no {REQUEST_ID!r} column to join labels on (rule: labels join by request id)"
        )
    keys = [REQUEST_ID, INDEX] if INDEX in labels.columns else [REQUEST_ID]
    left = pd.DataFrame({REQUEST_ID: window.request_ids})
    right = labels[[*keys, target]].copy()
    right[REQUEST_ID] = right[REQUEST_ID].astype(str)
    if INDEX in keys:
        left[INDEX] = window.indices if window.indices is not None else 0
        right[INDEX] = pd.to_numeric(right[INDEX], errors="coerce").fillna(-1).astype(np.int64)
    elif left[REQUEST_ID].duplicated().any():
        raise BadInputError(
            f"{labels_path}: no {INDEX!r} column, but requests in the window hold several instances "
            f"(rule: label each instance by request_id and index)"
        )
    duplicated = right.duplicated(subset=keys)
    if duplicated.any():
        example = right.loc[duplicated, keys].iloc[0].to_dict()
        raise BadInputError(
            f"{labels_path}: {int(duplicated.sum())} duplicate label(s), e.g. {example} (rule: one label per key)"
        )
    joined = left.merge(right, on=keys, how="left")
    frame = window.frame.copy()
    frame[target] = joined[target].to_numpy()
    return replace(window, frame=frame)
