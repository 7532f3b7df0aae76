"""SIGTERM under load: the server stops accepting, answers every request it had accepted, and exits 0."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.model.serve.helpers import start_server
from tests.model.serve.training import TrainedModel

CLIENTS = 4
LOAD_SECONDS = 1.0
MAX_SECONDS = 60.0


@dataclass
class Outcomes:
    """What the clients saw, by request id."""

    ok: dict[str, float] = field(default_factory=dict)  # id -> when the 200 arrived
    refused: dict[str, str] = field(default_factory=dict)  # connection refused/closed before any response
    wrong: dict[str, int] = field(default_factory=dict)  # id -> unexpected status
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_loop(url: str, body: dict[str, object], outcomes: Outcomes, stop: threading.Event) -> None:
    deadline = time.monotonic() + MAX_SECONDS
    failures_in_a_row = 0
    with httpx.Client(base_url=url, timeout=30.0) as client:
        while time.monotonic() < deadline and failures_in_a_row < 3:
            rid = uuid.uuid4().hex
            try:
                response = client.post("/predict", json=body, headers={"X-Request-ID": rid})
            except httpx.TransportError as exc:
                with outcomes.lock:
                    outcomes.refused[rid] = repr(exc)
                failures_in_a_row += 1
                if not stop.is_set():  # a dropped keep-alive connection before SIGTERM would be a bug too
                    with outcomes.lock:
                        outcomes.wrong[rid] = -1
                continue
            failures_in_a_row = 0
            with outcomes.lock:
                if response.status_code == 200:
                    outcomes.ok[rid] = time.monotonic()
                else:
                    outcomes.wrong[rid] = response.status_code


def test_sigterm_under_load_loses_no_accepted_request(trained: TrainedModel, tmp_path: Path) -> None:
    server = start_server(trained.model_dir, tmp_path / "server.log", LOG_LEVEL="debug")
    body = {"instances": trained.instances()[:20]}
    outcomes, stop = Outcomes(), threading.Event()
    threads = [
        threading.Thread(target=client_loop, args=(server.url, body, outcomes, stop), daemon=True)
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS)
    stop.set()
    signalled = time.monotonic()
    exit_code = server.stop()
    for thread in threads:
        thread.join(MAX_SECONDS)

    assert exit_code == 0, server.log_path.read_text()[-3000:]
    assert outcomes.wrong == {}, "no error responses, and no dropped connection before SIGTERM"
    logs = server.logs()
    predict = [line for line in logs if line.get("path") == "/predict"]
    received = {line["request_id"] for line in predict if line["message"] == "request received"}
    answered = {line["request_id"] for line in predict if line["message"] == "request" and line["status"] == 200}
    lost = received - set(outcomes.ok)
    assert not lost, f"{len(lost)} accepted request(s) got no response"
    assert answered == set(outcomes.ok)
    assert len(outcomes.ok) > CLIENTS, "the clients did load the server"
    assert any(at > signalled for at in outcomes.ok.values()), "requests in flight at SIGTERM were completed"
    assert any(line["message"] == "Shutting down" for line in logs)
