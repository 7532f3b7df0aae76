"""SIGTERM with 8 keep-alive clients under load, on raw sockets to 127.0.0.1 so every request is accounted for:
each request fully sent is answered (the last ones with `Connection: close`), no connection is reset, new
connections are refused, and the server exits 0 within its grace period. An upload in progress at SIGTERM is
answered in JSON (200 when it completes in time, 503 when it does not), never a plain-text 500. Bounded in time and
count."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.model.serve.helpers import ServerProcess, start_server
from tests.model.serve.training import TrainedModel

CLIENTS = 8
LOAD_SECONDS = 1.0
SHUTDOWN_TIMEOUT = 6.0
#: Added to the grace period before an exit counts as late: a loaded 2-core machine.
SLACK = 20.0
RUNS = 3


@dataclass
class Counts:
    sent: int = 0  # requests whose bytes were all written
    answered: int = 0  # complete responses read
    statuses: dict[int, int] = field(default_factory=dict)
    closes_after_sigterm: int = 0  # responses with `Connection: close` read after SIGTERM
    lost: list[str] = field(default_factory=list)  # sent, but the connection ended (or reset) before the answer
    refused: int = 0  # connection refused: the server stopped accepting (nothing was sent)
    lock: threading.Lock = field(default_factory=threading.Lock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length (all of this server's have one); EOFError if cut short."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} bytes of the head")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed inside the body")
        body += chunk
    return int(lines[0].split(" ", 2)[1]), headers, body


def predict_request(body: bytes) -> bytes:
    head = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    return head + body


def client(port: int, request: bytes, counts: Counts, signalled: threading.Event, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        except ConnectionRefusedError:
            with counts.lock:
                counts.refused += 1
            return
        with sock:
            while time.monotonic() < deadline:
                try:
                    sock.sendall(request)
                except OSError as exc:
                    with counts.lock:
                        counts.lost.append(f"send: {exc!r}")  # the server dropped a connection it had not closed
                    return
                with counts.lock:
                    counts.sent += 1
                try:
                    status, headers, _ = read_response(sock)
                except (OSError, EOFError) as exc:
                    with counts.lock:
                        counts.lost.append(repr(exc))
                    return
                with counts.lock:
                    counts.answered += 1
                    counts.statuses[status] = counts.statuses.get(status, 0) + 1
                    if headers.get("connection") == "close" and signalled.is_set():
                        counts.closes_after_sigterm += 1
                if headers.get("connection") == "close":
                    break  # as a client must: open a new connection


@pytest.fixture
def draining_server(trained: TrainedModel, tmp_path: Path) -> ServerProcess:
    return start_server(trained.model_dir, tmp_path / "server.log", SHUTDOWN_TIMEOUT=str(SHUTDOWN_TIMEOUT))


def stop_and_time(server: ServerProcess, signalled: threading.Event) -> tuple[int, float]:
    start = time.monotonic()
    signalled.set()
    code = server.stop(timeout=SHUTDOWN_TIMEOUT + SLACK)
    return code, time.monotonic() - start


@pytest.mark.parametrize("run", range(RUNS))
def test_sigterm_answers_every_request_it_received(
    draining_server: ServerProcess, trained: TrainedModel, run: int
) -> None:
    request = predict_request(json.dumps({"instances": trained.instances()[:5]}).encode())
    counts, signalled = Counts(), threading.Event()
    deadline = time.monotonic() + LOAD_SECONDS + SHUTDOWN_TIMEOUT + SLACK
    threads = [
        threading.Thread(target=client, args=(draining_server.port, request, counts, signalled, deadline))
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS)
    with counts.lock:
        before = counts.answered
    code, seconds = stop_and_time(draining_server, signalled)
    for thread in threads:
        thread.join(SLACK)

    assert code == 0, draining_server.log_path.read_text()[-3000:]
    assert seconds < SHUTDOWN_TIMEOUT + SLACK
    assert before > CLIENTS, "the clients did load the server"
    assert counts.lost == [], f"{len(counts.lost)} request(s) sent and never answered: {counts.lost[:3]}"
    assert counts.answered == counts.sent
    assert counts.statuses == {200: counts.answered}
    assert counts.closes_after_sigterm >= 1, "requests in flight at SIGTERM were answered with Connection: close"
    assert counts.refused >= 1, "once draining, new connections are refused"
    logged = [
        line for line in draining_server.logs() if line.get("path") == "/predict" and line["message"] == "request"
    ]
    assert len(logged) == counts.answered


def start_upload(port: int, declared: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=SHUTDOWN_TIMEOUT + SLACK)
    sock.sendall(
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % declared
    )
    return sock


def test_an_upload_completed_after_sigterm_is_answered(draining_server: ServerProcess, trained: TrainedModel) -> None:
    body = json.dumps({"instances": trained.instances()[:2]}).encode()
    sock = start_upload(draining_server.port, len(body))
    sock.sendall(body[:10])
    time.sleep(0.5)  # the request is in the app, reading its body
    stopper = threading.Thread(target=draining_server.stop, kwargs={"timeout": SHUTDOWN_TIMEOUT + SLACK})
    stopper.start()
    time.sleep(0.5)
    sock.sendall(body[10:])
    status, headers, answer = read_response(sock)
    stopper.join(SHUTDOWN_TIMEOUT + SLACK)
    sock.close()
    assert status == 200, answer
    assert headers["connection"] == "close"
    assert draining_server.process.returncode == 0


def test_an_upload_unfinished_at_the_end_of_the_grace_period_gets_json(draining_server: ServerProcess) -> None:
    sock = start_upload(draining_server.port, 1000)
    sock.sendall(b'{"instances": [')
    time.sleep(0.5)
    code, seconds = stop_and_time(draining_server, threading.Event())
    status, headers, answer = read_response(sock)
    sock.close()
    assert code == 0
    assert seconds < SHUTDOWN_TIMEOUT + SLACK
    assert status == 503, answer
    assert headers["content-type"] == "application/json"
    assert json.loads(answer)["error"] == "shutting_down"
    logs = draining_server.logs()
    assert not [line for line in logs if "exception" in line or line.get("level") == "error"], logs[-5:]
