"""Inference logging in a real server process (python -m model.serve): under load it never fails or slows a request
into an error, even when it cannot write at all; what it writes is exactly what it counted, in whole files only,
joinable by request id, and the drift monitor judges it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from model.core import paths
from model.serve.inference_log import DROP_REASONS, FINISHED_SUFFIX, OPEN_SUFFIX
from tests.model.serve.helpers import ROOT, ServerProcess, start_server
from tests.model.serve.training import TrainedModel

#: A few thousand /predict calls from concurrent clients; each call carries 1 to 3 instances.
CLIENTS = 8
CALLS_PER_CLIENT = 300
#: Bounds on waiting (never asserted as performance).
LOAD_TIMEOUT = 120.0
METRICS_TIMEOUT = 30.0


@dataclass
class Call:
    request_id: str
    rows: list[int]  # held-out row numbers sent, in order
    probabilities: list[float]


@dataclass
class Load:
    """What the clients sent and saw."""

    calls: list[Call] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    probes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def instances(self) -> int:
        return sum(len(call.rows) for call in self.calls)


def batches(rows: int, client: int, calls: int) -> Iterator[list[int]]:
    """Held-out row numbers for one client's calls: 1, 2, 3, 1, ... rows each, walking through the split."""
    position = client * calls * 2
    for k in range(calls):
        size = 1 + k % 3
        yield [(position + i) % rows for i in range(size)]
        position += size


def client(server: ServerProcess, trained: TrainedModel, expected: np.ndarray, number: int, load: Load) -> None:
    instances = trained.instances()
    deadline = time.monotonic() + LOAD_TIMEOUT
    with httpx.Client(base_url=server.url, timeout=30.0) as http:
        for k, rows in enumerate(batches(len(instances), number, CALLS_PER_CLIENT)):
            if time.monotonic() > deadline:
                with load.lock:
                    load.problems.append(f"client {number}: out of time after {k} calls")
                return
            rid = f"load-{number}-{k}"
            try:
                response = http.post(
                    "/predict", json={"instances": [instances[r] for r in rows]}, headers={"X-Request-ID": rid}
                )
            except httpx.TransportError as exc:
                with load.lock:
                    load.problems.append(f"{rid}: {exc!r}")
                continue
            problem = None
            if response.status_code != 200:
                problem = f"{rid}: {response.status_code} {response.text[:200]}"
            elif response.headers.get("x-request-id") != rid:
                problem = f"{rid}: answered with X-Request-ID {response.headers.get('x-request-id')!r}"
            else:
                got = [p["probability"] for p in response.json()["predictions"]]
                if got != expected[rows].tolist():
                    problem = f"{rid}: predicted {got}, the pipeline says {expected[rows].tolist()}"
            with load.lock:
                if problem:
                    load.problems.append(problem)
                else:
                    load.calls.append(Call(rid, rows, got))


def probe(server: ServerProcess, load: Load, stop: threading.Event) -> None:
    """Liveness and readiness, throughout the load."""
    with httpx.Client(base_url=server.url, timeout=30.0) as http:
        while not stop.is_set():
            for path in ("/healthz", "/readyz"):
                try:
                    status = http.get(path).status_code
                except httpx.TransportError as exc:
                    status, detail = -1, repr(exc)
                else:
                    detail = str(status)
                with load.lock:
                    load.probes += 1
                    if status != 200:
                        load.problems.append(f"{path}: {detail}")
            time.sleep(0.02)


def drive(server: ServerProcess, trained: TrainedModel, clients: int = CLIENTS) -> Load:
    """`clients` concurrent clients send their calls while a prober checks /healthz and /readyz."""
    expected = trained.pipeline.predict_proba(trained.x_test)[:, 1]
    load, stop = Load(), threading.Event()
    prober = threading.Thread(target=probe, args=(server, load, stop), daemon=True)
    workers = [
        threading.Thread(target=client, args=(server, trained, expected, n, load), daemon=True) for n in range(clients)
    ]
    prober.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(LOAD_TIMEOUT + 30)
    stop.set()
    prober.join(30)
    assert not any(w.is_alive() for w in [*workers, prober]), "a client hung"
    return load


def log_counters(server: ServerProcess) -> dict[str, float]:
    """`records` and `dropped_<reason>` from /metrics."""
    families = {f.name: f for f in text_string_to_metric_families(server.client.get("/metrics").text)}
    values = {"records": sum(s.value for s in families["lighthouse_inference_log_records"].samples)}
    for sample in families["lighthouse_inference_log_dropped"].samples:
        values[f"dropped_{sample.labels['reason']}"] = sample.value
    return values


def wait_for_counters(server: ServerProcess, done: Any) -> dict[str, float]:
    """Poll /metrics until `done(counters)`: the writer thread counts just after the responses went out."""
    deadline = time.monotonic() + METRICS_TIMEOUT
    while True:
        counters = log_counters(server)
        if done(counters) or time.monotonic() > deadline:
            return counters
        time.sleep(0.1)


def closing_line(server: ServerProcess) -> dict[str, Any]:
    (line,) = [line for line in server.logs() if line.get("event") == "inference_log_closed"]
    return line


def test_logging_under_load_never_fails_a_request(trained: TrainedModel, tmp_path: Path) -> None:
    """INFERENCE_LOG_DIR cannot be created (a path under a regular file) and the queue holds one batch: every
    record is dropped, counted, and no request notices."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    server = start_server(
        trained.model_dir,
        tmp_path / "server.log",
        INFERENCE_LOG_DIR=str(blocker / "inference-log"),
        INFERENCE_LOG_MAX_QUEUE="1",
        INFERENCE_LOG_SAMPLE_RATE="1",
    )
    try:
        load = drive(server, trained)
        counters = wait_for_counters(
            server, lambda c: c["dropped_write_error"] + c["dropped_queue_full"] >= load.instances
        )
    finally:
        exit_code = server.stop()

    assert load.problems == []
    assert len(load.calls) == CLIENTS * CALLS_PER_CLIENT
    assert load.probes > 0
    assert counters["dropped_write_error"] + counters["dropped_queue_full"] == load.instances
    assert counters["dropped_write_error"] > 0, "the first batch reached the disk and failed there"
    assert counters["records"] == counters["dropped_closed"] == counters["dropped_invalid"] == 0
    assert exit_code == 0
    assert closing_line(server)["records"] == 0
    assert any("inference log: cannot write" in line["message"] for line in server.logs())


@pytest.fixture(scope="module")
def reference(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model's training split: the monitor profiles it (with the model's scores) as the reference."""
    path = tmp_path_factory.mktemp("reference") / "train.parquet"
    trained.train.to_parquet(path)
    return path


def read_log(directory: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(directory.glob(f"*{FINISHED_SUFFIX}"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_what_is_logged_is_what_was_counted_and_the_monitor_judges_it(
    trained: TrainedModel, reference: Path, tmp_path: Path
) -> None:
    """Files rotate every second while serving, the last is finished at SIGTERM; every record is in a finished
    file, joinable to its call by request id and index, and a window of held-out rows is judged ok."""
    directory = tmp_path / "inference-log"
    server = start_server(
        trained.model_dir,
        tmp_path / "server.log",
        INFERENCE_LOG_DIR=str(directory),
        INFERENCE_LOG_SAMPLE_RATE="1",
        INFERENCE_LOG_ROTATE_SECONDS="1",
        INFERENCE_LOG_MAX_FILES="100000",
    )
    try:
        served = drive(server, trained, clients=2)  # 600 calls, 1200 instances: over the monitor's min_rows
        counters = wait_for_counters(server, lambda c: c["records"] >= served.instances)
        # A last few calls: their records are still in the open file when SIGTERM comes.
        last = drive(server, trained, clients=1)
    finally:
        exit_code = server.stop()

    assert served.problems == last.problems == []
    assert counters == {"records": served.instances, **{f"dropped_{reason}": 0 for reason in DROP_REASONS}}
    assert exit_code == 0
    assert not list(directory.glob(f"*{OPEN_SUFFIX}")), "an unfinished file was left behind"
    records = read_log(directory)
    closed = closing_line(server)
    assert len(records) == closed["records"] == served.instances + last.instances
    assert all(closed[f"dropped_{reason}"] == 0 for reason in DROP_REASONS)

    instances = trained.instances()
    sent = {
        (call.request_id, index): (instances[row], probability)
        for call in served.calls + last.calls
        for index, (row, probability) in enumerate(zip(call.rows, call.probabilities, strict=True))
    }
    logged = {(r["request_id"], r["index"]): (r["instance"], r["probability"]) for r in records}
    assert logged == sent, "each record is the instance the model saw and the probability the caller got"
    assert {r["model_version"] for r in records} == {trained.record.sha256[:12]}

    report = tmp_path / "reports"
    args = [
        "--logs", str(directory),
        "--reference", str(reference),
        "--model-dir", str(trained.model_dir),
        "--metrics", str(tmp_path / "no-metrics.json"),
        "--contract", str(ROOT / paths.CONTRACT),
        "--params", str(ROOT / paths.PARAMS),
        "--out", str(report / "drift.json"),
        "--markdown", str(report / "drift.md"),
        "--no-plots",
    ]  # fmt: skip
    monitor = subprocess.run(
        [sys.executable, "-m", "model.monitor", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert monitor.returncode == 0, monitor.stdout + monitor.stderr
    verdict = json.loads((report / "drift.json").read_text())
    assert verdict["status"] == "ok"
    assert verdict["window"]["rows"] == len(records)
