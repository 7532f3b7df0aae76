"""A sampled inference log the model server writes off the request's critical path.

`InferenceLogger.log()` costs a random draw and a non-blocking queue put: a background thread serialises each
sampled instance as one JSON line and writes it to a file in `INFERENCE_LOG_DIR`. The thread wakes every
`DRAIN_SECONDS` (or when the queue is half full) and writes everything queued at once: waking it for every call
would cost the server more (thread switches, the GIL) than the log itself. A full queue, a slow or broken
disk, or any other failure drops records and counts them; `log()` never blocks and never raises. Memory is bounded
by the queue (`INFERENCE_LOG_MAX_QUEUE` batches), disk by rotation (`INFERENCE_LOG_MAX_BYTES` per file, at most
`INFERENCE_LOG_MAX_FILES` finished files kept). Files are written as `*.jsonl.open` and renamed to `*.jsonl` when
they rotate (by size or age) or the logger closes, so a reader (`python -m model.monitor`) only sees whole files.

One line per instance (see `RECORD_FIELDS`):

    {"ts": 1764133920.123, "request_id": "9f...", "index": 0, "model_version": "3",
     "probability": 0.83, "instance": {"age": 24, "sex": "Male", ...}}

Sampling is per call (per request), so a logged request keeps all its instances and the labels joined later by
`request_id` and `index` line up.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import threading
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from types import TracebackType
from typing import IO, Any, ClassVar, TypeVar

from model.core.errors import ConfigError

log = logging.getLogger(__name__)

#: The keys of one log line; the monitor reads the same names.
TS, REQUEST_ID, INDEX, MODEL_VERSION, PROBABILITY, INSTANCE = (
    "ts",
    "request_id",
    "index",
    "model_version",
    "probability",
    "instance",
)
RECORD_FIELDS = (TS, REQUEST_ID, INDEX, MODEL_VERSION, PROBABILITY, INSTANCE)
FINISHED_SUFFIX = ".jsonl"
OPEN_SUFFIX = ".jsonl.open"
FILE_PREFIX = "inference-"

#: Why a record was not written (the `reason` label of the dropped counter).
QUEUE_FULL, WRITE_ERROR, CLOSED, INVALID = "queue_full", "write_error", "closed", "invalid"
DROP_REASONS = (QUEUE_FULL, WRITE_ERROR, CLOSED, INVALID)

RECORDS_METRIC = "lighthouse_inference_log_records"
DROPPED_METRIC = "lighthouse_inference_log_dropped"
#: After a write error the writer drops records for this long before it tries the disk again.
RETRY_AFTER_SECONDS = 1.0
#: How often the writer wakes to drain the queue (sooner when it is half full, or on flush/close).
DRAIN_SECONDS = 0.05


@dataclass(frozen=True)
class InferenceLogConfig:
    """Where and how much to log; `directory=None` disables logging."""

    directory: Path | None
    sample_rate: float = 1.0
    max_queue: int = 1000
    max_bytes: int = 16 * 1024 * 1024
    rotate_seconds: float = 300.0
    max_files: int = 8

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InferenceLogConfig:
        """Read `INFERENCE_LOG_*`; a malformed value is a ConfigError naming the variable (fail at start-up)."""
        env = os.environ if environ is None else environ
        directory = env.get("INFERENCE_LOG_DIR", "").strip()
        return cls(
            directory=Path(directory) if directory else None,
            sample_rate=_number(env, "INFERENCE_LOG_SAMPLE_RATE", float, 1.0, low=0.0, high=1.0),
            max_queue=_number(env, "INFERENCE_LOG_MAX_QUEUE", int, 1000, low=1),
            max_bytes=_number(env, "INFERENCE_LOG_MAX_BYTES", int, 16 * 1024 * 1024, low=1024),
            rotate_seconds=_number(env, "INFERENCE_LOG_ROTATE_SECONDS", float, 300.0, low=0.01),
            max_files=_number(env, "INFERENCE_LOG_MAX_FILES", int, 8, low=1),
        )


N = TypeVar("N", int, float)


def _number(
    env: Mapping[str, str], name: str, kind: type[N], default: N, *, low: float, high: float | None = None
) -> N:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r}: not a valid {kind.__name__}") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"environment variable {name}={raw!r}: must be {bounds}")
    return value


class _Metrics:
    """The two counters, created on first use in the given registry (never at import), once per registry."""

    _lock = threading.Lock()
    _by_registry: ClassVar[weakref.WeakKeyDictionary[Any, _Metrics]] = weakref.WeakKeyDictionary()

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter

        self.records = Counter(RECORDS_METRIC, "Inference records written to the inference log", registry=registry)
        self.dropped = Counter(
            DROPPED_METRIC,
            "Inference records sampled for the log but not written, by reason",
            ["reason"],
            registry=registry,
        )
        for reason in DROP_REASONS:  # export every series from 0, so rate() sees the first drop
            self.dropped.labels(reason=reason)

    @classmethod
    def for_registry(cls, registry: Any = None) -> _Metrics:
        if registry is None:
            from prometheus_client import REGISTRY

            registry = REGISTRY
        with cls._lock:
            metrics = cls._by_registry.get(registry)
            if metrics is None:
                metrics = cls._by_registry[registry] = cls(registry)
            return metrics


@dataclass(frozen=True)
class _Batch:
    ts: float
    request_id: str
    model_version: str
    instances: Sequence[Mapping[str, Any]]
    probabilities: Sequence[float]


class InferenceLogger:
    """Sampled, bounded, non-blocking JSON-lines log of predictions. Thread-safe; one per server process.

    Use `InferenceLogger.from_env()` at start-up, `log(...)` per prediction batch, `close()` at shutdown.
    The instances are kept by reference until written: do not mutate them after logging.
    """

    def __init__(self, config: InferenceLogConfig, *, registry: Any = None) -> None:
        self.config = config
        self._random = random.Random()  # noqa: S311 - sampling, not security
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._wake_at = max(1, config.max_queue // 2)
        self._closed = False
        self._queue: queue.Queue[_Batch] = queue.Queue(maxsize=config.max_queue)
        self._metrics: _Metrics | None = None
        self._thread: threading.Thread | None = None
        if config.directory is not None:
            self._metrics = _Metrics.for_registry(registry)
            self._thread = threading.Thread(
                target=_Writer(config, self._queue, self._stopping, self._wake, self._metrics).run,
                name="inference-log-writer",
                daemon=True,
            )
            self._thread.start()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, registry: Any = None) -> InferenceLogger:
        return cls(InferenceLogConfig.from_env(environ), registry=registry)

    @property
    def enabled(self) -> bool:
        return self._thread is not None

    def log(
        self,
        instances: Sequence[Mapping[str, Any]],
        probabilities: Sequence[float],
        model_version: str,
        request_id: str | None = None,
    ) -> bool:
        """Queue one prediction batch if it is sampled; True when queued. Never blocks, never raises."""
        metrics = self._metrics
        if metrics is None:
            return False
        try:
            if self._closed:
                metrics.dropped.labels(reason=CLOSED).inc(len(instances))
                return False
            rate = self.config.sample_rate
            if rate < 1.0 and self._random.random() >= rate:
                return False
            if len(instances) != len(probabilities):
                metrics.dropped.labels(reason=INVALID).inc(len(instances))
                return False
            batch = _Batch(time.time(), request_id or uuid.uuid4().hex, str(model_version), instances, probabilities)
            self._queue.put_nowait(batch)
            if self._queue.qsize() >= self._wake_at:
                self._wake.set()
            return True
        except queue.Full:
            metrics.dropped.labels(reason=QUEUE_FULL).inc(len(instances))
        except Exception:  # the request must not fail because of its log line
            with suppress(Exception):  # nothing left to do safely
                metrics.dropped.labels(reason=INVALID).inc(_size(instances))
        return False

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued batch is handled and written to the OS; True when done within `timeout`."""
        if self._thread is None:
            return True
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking records, write what is queued (up to `timeout`), and finish the open file."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self.flush(timeout)
            self._stopping.set()
            self._wake.set()
            self._thread.join(timeout)
            self._count_leftovers()

    def counts(self) -> dict[str, int]:
        """This process's counter values: `records` written, and dropped records by reason (for a closing log line;
        with several server workers, /metrics shows their sum)."""
        if self._metrics is None:
            return {}
        values = {"records": _counter_value(self._metrics.records)}
        for reason in DROP_REASONS:
            values[f"dropped_{reason}"] = _counter_value(self._metrics.dropped.labels(reason=reason))
        return values

    def _count_leftovers(self) -> None:
        """Batches still queued once the writer is gone (a call racing close(), or a timeout) count as dropped."""
        assert self._metrics is not None
        while True:
            try:
                batch = self._queue.get_nowait()
            except queue.Empty:
                return
            self._metrics.dropped.labels(reason=CLOSED).inc(len(batch.instances))
            self._queue.task_done()

    def __enter__(self) -> InferenceLogger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def _counter_value(counter: Any) -> int:
    """A counter's (or labelled child's) value through the public collect() API."""
    return int(sum(s.value for metric in counter.collect() for s in metric.samples if s.name.endswith("_total")))


def _size(instances: object) -> int:
    """How many records a malformed call stood for: its length if it has one, else 1."""
    try:
        return max(len(instances), 1)  # type: ignore[arg-type]
    except TypeError:
        return 1


class _Writer:
    """The background thread: serialise, write, rotate, prune; count everything it cannot write."""

    def __init__(
        self,
        config: InferenceLogConfig,
        batches: queue.Queue[_Batch],
        stopping: threading.Event,
        wake: threading.Event,
        metrics: _Metrics,
    ) -> None:
        assert config.directory is not None
        self.config = config
        self.directory = config.directory
        self.batches = batches
        self.stopping = stopping
        self.wake = wake
        self.metrics = metrics
        self.handle: IO[bytes] | None = None
        self.path: Path | None = None
        self.opened_at = 0.0
        self.written = 0
        self.pending = 0  # records in the open file, counted as written once the file is published
        self.retry_at = 0.0
        self.sequence = count()
        self.stem = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.dumps = _json_dumps()

    def run(self) -> None:
        interval = min(DRAIN_SECONDS, self.config.rotate_seconds)
        while True:
            self.wake.wait(interval)
            self.wake.clear()  # a set() from here on wakes the next round at once
            stopping = self.stopping.is_set()
            self._drain()
            self._tick()
            if stopping:
                break
        self._finish()

    def _drain(self) -> None:
        """Write every queued batch (taken one at a time, so memory stays bounded by the queue), then hand the
        lines to the OS, then mark the batches done (flush() waits for that)."""
        handled = 0
        try:
            while True:
                try:
                    batch = self.batches.get_nowait()
                except queue.Empty:
                    break
                handled += 1
                try:
                    self._write(batch)
                    self._tick()
                except Exception:  # never let the thread die: a dead writer would drop everything silently
                    log.exception("inference log: unexpected error; dropping a batch")
                    self.metrics.dropped.labels(reason=WRITE_ERROR).inc(len(batch.instances))
            if handled:
                self._flush()
        finally:
            for _ in range(handled):
                self.batches.task_done()

    def _write(self, batch: _Batch) -> None:
        now = time.monotonic()
        if now < self.retry_at:
            self.metrics.dropped.labels(reason=WRITE_ERROR).inc(len(batch.instances))
            return
        lines = b"".join(
            self.dumps(
                {
                    TS: batch.ts,
                    REQUEST_ID: batch.request_id,
                    INDEX: index,
                    MODEL_VERSION: batch.model_version,
                    PROBABILITY: float(probability),
                    INSTANCE: instance,
                }
            )
            for index, (instance, probability) in enumerate(zip(batch.instances, batch.probabilities, strict=True))
        )
        try:
            if self.handle is None:
                self._open()
            assert self.handle is not None
            self.handle.write(lines)
        except OSError as exc:
            self._fail(exc)
            self.metrics.dropped.labels(reason=WRITE_ERROR).inc(len(batch.instances))
            return
        self.written += len(lines)
        self.pending += len(batch.instances)

    def _tick(self) -> None:
        """Rotate the open file when it is big or old enough."""
        if self.handle is None:
            return
        too_old = time.monotonic() - self.opened_at >= self.config.rotate_seconds
        if self.written >= self.config.max_bytes or too_old:
            self._finish()

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.path = self.directory / f"{FILE_PREFIX}{stamp}-{self.stem}-{next(self.sequence):06d}{OPEN_SUFFIX}"
        self.handle = self.path.open("xb", buffering=1 << 16)
        self.opened_at = time.monotonic()
        self.written = self.pending = 0

    def _flush(self) -> None:
        if self.handle is not None:
            try:
                self.handle.flush()
            except OSError as exc:
                self._fail(exc)

    def _finish(self) -> None:
        """Close the open file and publish it under its finished name; then keep at most max_files."""
        handle, path = self.handle, self.path
        self.handle = self.path = None
        if handle is None or path is None:
            return
        try:
            handle.close()
            path.rename(path.with_name(path.name.removesuffix(OPEN_SUFFIX) + FINISHED_SUFFIX))
        except OSError as exc:
            self.handle, self.path = handle, path
            self._fail(exc)
            return
        self.metrics.records.inc(self.pending)
        self.pending = 0
        try:
            self._prune()
        except OSError as exc:
            log.warning("inference log: cannot remove old files in %s (%s)", self.directory, exc)

    def _prune(self) -> None:
        finished = sorted(self.directory.glob(f"{FILE_PREFIX}*{FINISHED_SUFFIX}"))
        for old in finished[: max(0, len(finished) - self.config.max_files)]:
            old.unlink(missing_ok=True)

    def _fail(self, exc: OSError) -> None:
        """Give up on the open file (its records count as dropped) and pause writing for a moment."""
        if time.monotonic() >= self.retry_at:
            log.warning("inference log: cannot write to %s (%s); dropping records", self.directory, exc)
        self.retry_at = time.monotonic() + RETRY_AFTER_SECONDS
        self.metrics.dropped.labels(reason=WRITE_ERROR).inc(self.pending)
        handle, path = self.handle, self.path
        self.handle = self.path = None
        self.pending = 0
        with suppress(OSError):
            if handle is not None:
                handle.close()
        with suppress(OSError):
            if path is not None:
                path.unlink(missing_ok=True)


def _json_dumps() -> Any:
    """orjson when installed (the server's), else the standard library; both end each line with a newline."""
    try:
        import orjson

        option = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY

        def dumps_orjson(record: dict[str, Any]) -> bytes:
            return orjson.dumps(record, option=option, default=str)

        return dumps_orjson
    except ImportError:  # pragma: no cover - orjson is a serving dependency
        import json

        def dumps_json(record: dict[str, Any]) -> bytes:
            return (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()

        return dumps_json
