"""The inference logger: what it writes, how it rotates, and that a log call never blocks, raises or grows memory,
whatever the disk does. Real threads, real files, a real prometheus_client registry; no mocks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from model.core.errors import ConfigError
from model.serve.inference_log import (
    CLOSED,
    DROPPED_METRIC,
    FINISHED_SUFFIX,
    INVALID,
    OPEN_SUFFIX,
    QUEUE_FULL,
    RECORD_FIELDS,
    RECORDS_METRIC,
    WRITE_ERROR,
    InferenceLogConfig,
    InferenceLogger,
)

INSTANCE = {"year": 2000, "age": 24, "sex": "Male", "employed": "Yes", "citizen": "Yes", "checks": 1}


def _records(registry: CollectorRegistry) -> float:
    return registry.get_sample_value(f"{RECORDS_METRIC}_total") or 0.0


def _dropped(registry: CollectorRegistry, reason: str) -> float:
    return registry.get_sample_value(f"{DROPPED_METRIC}_total", {"reason": reason}) or 0.0


def _lines(directory: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(directory.glob(f"*{FINISHED_SUFFIX}"))
        for line in path.read_text().splitlines()
    ]


def _logger(directory: Path | None, registry: CollectorRegistry, **config: Any) -> InferenceLogger:
    return InferenceLogger(InferenceLogConfig(directory=directory, **config), registry=registry)


class _Gate:
    """A feature value whose serialisation waits for the test: the writer thread really stalls on it, as on a
    disk that hangs, while the callers keep logging."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __str__(self) -> str:
        self.entered.set()
        self.release.wait(30)
        return "released"


def test_disabled_without_a_directory_and_registers_nothing() -> None:
    registry = CollectorRegistry()
    logger = InferenceLogger.from_env({}, registry=registry)
    assert not logger.enabled
    assert logger.log([INSTANCE], [0.5], "1") is False
    logger.close()
    assert list(registry.collect()) == []


def test_counters_are_not_registered_at_import() -> None:
    code = (
        "import prometheus_client, model.serve.inference_log\n"
        "names = [m.name for m in prometheus_client.REGISTRY.collect()]\n"
        "assert not [n for n in names if 'inference_log' in n], names\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])


def test_configuration_comes_from_the_environment(tmp_path: Path) -> None:
    config = InferenceLogConfig.from_env(
        {
            "INFERENCE_LOG_DIR": str(tmp_path),
            "INFERENCE_LOG_SAMPLE_RATE": "0.25",
            "INFERENCE_LOG_MAX_QUEUE": "7",
            "INFERENCE_LOG_MAX_BYTES": "2048",
            "INFERENCE_LOG_ROTATE_SECONDS": "60",
            "INFERENCE_LOG_MAX_FILES": "3",
        }
    )
    assert config == InferenceLogConfig(tmp_path, 0.25, 7, 2048, 60.0, 3)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("INFERENCE_LOG_SAMPLE_RATE", "1.5", "between 0.0 and 1.0"),
        ("INFERENCE_LOG_SAMPLE_RATE", "half", "not a valid float"),
        ("INFERENCE_LOG_MAX_QUEUE", "0", "at least 1"),
        ("INFERENCE_LOG_MAX_QUEUE", "1e3", "not a valid int"),
        ("INFERENCE_LOG_MAX_FILES", "-2", "at least 1"),
    ],
)
def test_a_malformed_setting_names_the_variable(tmp_path: Path, name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=rf"{name}={value!r}.*{words}".replace("(", r"\(")):
        InferenceLogConfig.from_env({"INFERENCE_LOG_DIR": str(tmp_path), name: value})


def test_writes_one_json_line_per_instance(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    with _logger(tmp_path, registry) as logger:
        assert logger.log([INSTANCE, {**INSTANCE, "age": 40}], [0.25, 0.75], "3", request_id="req-1")
        assert logger.log([INSTANCE], [0.5], "3")
    lines = _lines(tmp_path)
    assert [tuple(line) for line in lines] == [RECORD_FIELDS] * 3
    assert [(line["request_id"], line["index"], line["probability"]) for line in lines[:2]] == [
        ("req-1", 0, 0.25),
        ("req-1", 1, 0.75),
    ]
    assert lines[1]["instance"] == {**INSTANCE, "age": 40}
    assert {line["model_version"] for line in lines} == {"3"}
    assert len(lines[2]["request_id"]) == 32  # generated when the caller has none
    assert abs(lines[0]["ts"] - time.time()) < 3600
    assert not list(tmp_path.glob(f"*{OPEN_SUFFIX}")), "close() must publish the open file"
    assert _records(registry) == 3


def test_samples_whole_calls_at_the_configured_rate(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    with _logger(tmp_path, registry, sample_rate=0.3) as logger:
        taken = sum(logger.log([INSTANCE, INSTANCE], [0.1, 0.9], "1") for _ in range(4000))
    assert 0.25 < taken / 4000 < 0.35  # about 7 standard deviations either side
    lines = _lines(tmp_path)
    assert len(lines) == 2 * taken
    assert all(n == 2 for n in _counts_by_request(lines).values()), "a sampled call keeps all its instances"


def _counts_by_request(lines: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        counts[line["request_id"]] = counts.get(line["request_id"], 0) + 1
    return counts


def test_rotates_by_size_and_keeps_at_most_max_files(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    with _logger(tmp_path, registry, max_bytes=1024, max_files=3) as logger:
        for _ in range(200):
            logger.log([INSTANCE] * 5, [0.5] * 5, "1")
            logger.flush()
    finished = sorted(tmp_path.glob(f"*{FINISHED_SUFFIX}"))
    assert len(finished) == 3
    assert all(path.stat().st_size < 1024 + 2000 for path in finished)
    assert _records(registry) == 1000  # written and published, then the oldest files were pruned


def test_rotates_by_age_without_new_records(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    logger = _logger(tmp_path, registry, rotate_seconds=0.05)
    try:
        logger.log([INSTANCE], [0.5], "1")
        deadline = time.monotonic() + 10
        while not list(tmp_path.glob(f"*{FINISHED_SUFFIX}")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(_lines(tmp_path)) == 1, "an idle open file is published once it is old enough"
    finally:
        logger.close()


def test_flood_from_many_threads_with_a_stalled_writer_never_blocks_or_grows(tmp_path: Path) -> None:
    """8 threads x 1000 calls while the writer is stuck: every call returns (the threads finish while the
    writer is still stuck), the queue never holds more than max_queue batches, and each instance is either
    written or counted as dropped."""
    registry = CollectorRegistry()
    gate = _Gate()
    logger = _logger(tmp_path, registry, max_queue=16)
    logger.log([{**INSTANCE, "sex": gate}], [0.5], "1")
    assert gate.entered.wait(10), "the writer should be serialising the gated record"
    errors: list[BaseException] = []
    peak = [0]

    def flood() -> None:
        try:
            for i in range(1000):
                logger.log([INSTANCE, INSTANCE], [0.2, 0.8], "1", request_id=f"{threading.get_ident()}-{i}")
                peak[0] = max(peak[0], logger._queue.qsize())
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=flood) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "log() blocked behind the stalled writer"
    assert not gate.release.is_set()
    assert errors == []
    assert peak[0] <= 16
    assert _dropped(registry, QUEUE_FULL) == 2 * (8000 - 16)

    gate.release.set()
    logger.close()
    assert _records(registry) == 1 + 2 * 16
    assert len(_lines(tmp_path)) == 1 + 2 * 16


def test_an_unwritable_directory_drops_and_counts_but_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    registry = CollectorRegistry()
    logger = _logger(blocker / "logs", registry, max_queue=64)
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(500):
                logger.log([INSTANCE], [0.5], "1")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert logger.flush(10)
    logger.close()
    assert errors == []
    assert _records(registry) == 0
    assert _dropped(registry, WRITE_ERROR) + _dropped(registry, QUEUE_FULL) == 4000
    assert _dropped(registry, WRITE_ERROR) > 0


def test_a_disk_failing_mid_file_counts_the_lost_records(tmp_path: Path) -> None:
    """The directory vanishes under an open file: publishing it fails, and its records count as dropped."""
    directory = tmp_path / "logs"
    registry = CollectorRegistry()
    logger = _logger(directory, registry)
    for _ in range(10):
        logger.log([INSTANCE], [0.5], "1")
    assert logger.flush()
    (open_file,) = directory.glob(f"*{OPEN_SUFFIX}")
    open_file.unlink()
    directory.rmdir()
    directory.parent.joinpath("logs").write_text("now a file")  # and it cannot come back
    logger.log([INSTANCE], [0.5], "1")
    logger.close()
    assert _records(registry) == 0
    assert _dropped(registry, WRITE_ERROR) == 11


def test_close_writes_what_is_queued_and_later_calls_are_counted(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    gate = _Gate()
    logger = _logger(tmp_path, registry, max_queue=100)
    logger.log([{**INSTANCE, "sex": gate}], [0.5], "1")
    assert gate.entered.wait(10)
    for _ in range(50):
        assert logger.log([INSTANCE], [0.5], "1")
    gate.release.set()
    logger.close()
    assert len(_lines(tmp_path)) == 51
    assert logger.log([INSTANCE, INSTANCE], [0.5, 0.5], "1") is False
    assert _dropped(registry, CLOSED) == 2


@pytest.mark.parametrize(
    ("instances", "probabilities"),
    [([INSTANCE, INSTANCE], [0.5]), (None, [0.5]), ([INSTANCE], None), (object(), [])],
    ids=["length-mismatch", "no-instances", "no-probabilities", "not-a-sequence"],
)
def test_malformed_calls_are_counted_not_raised(tmp_path: Path, instances: Any, probabilities: Any) -> None:
    registry = CollectorRegistry()
    with _logger(tmp_path, registry) as logger:
        assert logger.log(instances, probabilities, "1") is False
    assert _dropped(registry, INVALID) >= 1
    assert _lines(tmp_path) == []


def test_two_loggers_share_one_registry(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    with _logger(tmp_path / "a", registry) as first, _logger(tmp_path / "b", registry) as second:
        first.log([INSTANCE], [0.5], "1")
        second.log([INSTANCE], [0.5], "1")
    assert _records(registry) == 2


def test_unserialisable_values_are_written_as_text(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    with _logger(tmp_path, registry) as logger:
        logger.log([{**INSTANCE, "when": object()}], [0.5], "1")
    (line,) = _lines(tmp_path)
    assert line["instance"]["when"].startswith("<object object")


def test_close_gives_up_on_a_stuck_writer_and_counts_what_is_left(tmp_path: Path) -> None:
    """Shutdown must not hang on a hung disk: close() returns after its timeout, the queued records counted."""
    registry = CollectorRegistry()
    gate = _Gate()
    logger = _logger(tmp_path, registry, max_queue=100)
    logger.log([{**INSTANCE, "sex": gate}], [0.5], "1")
    assert gate.entered.wait(10)
    for _ in range(20):
        logger.log([INSTANCE, INSTANCE], [0.5, 0.5], "1")
    closer = threading.Thread(target=logger.close, kwargs={"timeout": 0.2})
    closer.start()
    closer.join(30)
    assert not closer.is_alive(), "close() hung behind the stuck writer"
    assert _dropped(registry, CLOSED) == 40
    gate.release.set()
    assert logger._thread is not None
    logger._thread.join(10)
    assert _records(registry) == 1
