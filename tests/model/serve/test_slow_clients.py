"""Slow and huge clients on raw sockets to 127.0.0.1: each is refused (JSON, `Connection: close`) or closed within
its deadline, the server's memory stays bounded, and it keeps serving. Every wait is bounded; the upper bounds
are the configured timeout plus generous slack (a shared, busy machine), never a performance figure."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.model.serve.helpers import ServerProcess, start_server
from tests.model.serve.training import TrainedModel

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
KEEPALIVE_TIMEOUT = 2.0
MAX_HEADER_BYTES = 16_384
MAX_HEADERS = 100
#: Added to every deadline before a test calls it missed: scheduling on a loaded 2-core machine.
SLACK = 15.0
MB = 1 << 20


@pytest.fixture(scope="module")
def strict(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("strict") / "server.log"
    server = start_server(
        trained.model_dir,
        log,
        HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        BODY_TIMEOUT=str(BODY_TIMEOUT),
        KEEPALIVE_TIMEOUT=str(KEEPALIVE_TIMEOUT),
        MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
        MAX_HEADERS=str(MAX_HEADERS),
    )
    yield server
    server.stop()


@dataclass
class Exchange:
    seconds: float  # from connecting until the server closed (or answered and closed)
    response: bytes

    @property
    def status(self) -> int:
        return int(self.response.split(b" ", 2)[1]) if self.response else 0

    @property
    def headers(self) -> dict[str, str]:
        head = self.response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
        return {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in head)}

    @property
    def body(self) -> dict[str, object]:
        return json.loads(self.response.split(b"\r\n\r\n", 1)[1])  # type: ignore[no-any-return]


def exchange(port: int, *parts: bytes, pause: float = 0.0, forever: bytes = b"", limit: float = 60.0) -> Exchange:
    """Send `parts` (with `pause` seconds between them, then `forever` repeated every `pause` until the server
    stops reading) from a thread, while this thread reads until the server closes or `limit` seconds pass."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=limit)
    stop = threading.Event()

    def send() -> None:
        try:
            for part in parts:
                sock.sendall(part)
                if pause:
                    time.sleep(pause)
            while forever and not stop.wait(pause):
                sock.sendall(forever)
        except OSError:
            pass  # the server refused and closed: what it answered is what the test reads

    start = time.monotonic()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = b""
    try:
        while time.monotonic() - start < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        pytest.fail(f"the server neither answered nor closed within {limit} s (got {received[:200]!r})")
    except ConnectionResetError:
        pass  # a reset after the answer: the answer is what counts
    finally:
        seconds = time.monotonic() - start
        stop.set()
        sock.close()
        sender.join(limit)
    return Exchange(seconds, received)


def request(path: str = "/healthz", *headers: bytes, method: bytes = b"GET", end: bool = True) -> bytes:
    head = [method + b" " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    return b"\r\n".join(head) + (b"\r\n\r\n" if end else b"\r\n")


def assert_refused(result: Exchange, status: int, error: str) -> None:
    assert result.status == status, result.response[:300]
    assert result.headers["content-type"] == "application/json"
    assert result.headers["connection"] == "close"
    assert result.body["error"] == error, result.body


def rss_mb(server: ServerProcess) -> float:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("size", [MB, 16 * MB], ids=["1MB", "16MB"])
def test_a_huge_header_is_refused(strict: ServerProcess, size: int) -> None:
    result = exchange(strict.port, request("/healthz", b"X-Big: " + b"a" * size))
    assert_refused(result, 431, "headers_too_large")
    assert "MAX_HEADER_BYTES" in str(result.body["message"])


def test_a_huge_url_is_refused(strict: ServerProcess) -> None:
    assert_refused(exchange(strict.port, request("/healthz?" + "q" * MB)), 431, "headers_too_large")


def test_ten_thousand_headers_are_refused(strict: ServerProcess) -> None:
    many = [b"X-H%d: v" % i for i in range(10_000)]
    result = exchange(strict.port, request("/healthz", *many))
    assert_refused(result, 431, "too_many_headers")
    assert "MAX_HEADERS" in str(result.body["message"])


def test_headers_just_within_the_limits_are_served(strict: ServerProcess) -> None:
    headers = [b"X-H%d: %s" % (i, b"v" * 100) for i in range(MAX_HEADERS - 2)]  # Host is one more
    result = exchange(strict.port, request("/healthz", *headers, b"Connection: close"))
    assert result.status == 200, result.response[:300]


def test_unterminated_huge_headers_keep_memory_bounded(strict: ServerProcess) -> None:
    """The hostile review: 10 connections each sending an unterminated 32 MB header grew the server by 328 MB."""
    before = rss_mb(strict)
    line = b"X-Big: " + b"a" * (32 * MB)  # no CRLF, ever
    results: list[Exchange] = []

    def one() -> None:
        results.append(exchange(strict.port, request("/healthz", end=False), line))

    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    after = rss_mb(strict)
    assert len(results) == 10
    for result in results:
        assert_refused(result, 431, "headers_too_large")
    assert after - before < 64, f"resident memory grew from {before:.0f} to {after:.0f} MB"


def test_headers_that_never_end_get_408_by_the_header_deadline(strict: ServerProcess) -> None:
    result = exchange(strict.port, request("/healthz", end=False), pause=0.2, forever=b"X-Slow: 1\r\n")
    assert_refused(result, 408, "request_timeout")
    assert "HEADER_TIMEOUT" in str(result.body["message"])
    assert HEADER_TIMEOUT * 0.9 <= result.seconds < HEADER_TIMEOUT + SLACK


def test_a_silent_connection_is_closed_by_the_header_deadline(strict: ServerProcess) -> None:
    result = exchange(strict.port)
    assert result.response == b""
    assert HEADER_TIMEOUT * 0.9 <= result.seconds < HEADER_TIMEOUT + SLACK


def test_an_idle_keep_alive_connection_is_closed(strict: ServerProcess) -> None:
    result = exchange(strict.port, request("/healthz"))
    assert result.status == 200
    assert KEEPALIVE_TIMEOUT * 0.9 <= result.seconds < KEEPALIVE_TIMEOUT + SLACK


JSON_POST = (b"Content-Type: application/json",)


def test_a_short_body_under_its_content_length_gets_408(strict: ServerProcess) -> None:
    head = request("/predict", *JSON_POST, b"Content-Length: 1000", method=b"POST")
    result = exchange(strict.port, head + b'{"instances": [')
    assert_refused(result, 408, "request_timeout")
    assert "BODY_TIMEOUT" in str(result.body["message"])
    assert BODY_TIMEOUT * 0.9 <= result.seconds < BODY_TIMEOUT + SLACK
    line = strict.wait_for_log(lambda entry: entry.get("path") == "/predict" and entry.get("status") == 408)
    assert line["message"] == "request"  # the app's access line says 408, not "client closed" (499)


def test_a_body_that_never_ends_gets_408_however_steadily_it_trickles(strict: ServerProcess) -> None:
    head = request("/predict", *JSON_POST, b"Transfer-Encoding: chunked", method=b"POST")
    result = exchange(strict.port, head, pause=0.2, forever=b"1\r\n \r\n")
    assert_refused(result, 408, "request_timeout")
    assert BODY_TIMEOUT * 0.9 <= result.seconds < BODY_TIMEOUT + SLACK


def test_an_unread_body_that_never_ends_is_closed(strict: ServerProcess) -> None:
    """An endpoint that reads no body answers at once; the rest of the body still has its deadline."""
    result = exchange(strict.port, request("/healthz", b"Content-Length: 1000000"), pause=0.2, forever=b"x")
    assert result.status == 200
    assert BODY_TIMEOUT * 0.9 <= result.seconds < BODY_TIMEOUT + SLACK


def test_a_malformed_request_gets_a_json_400_in_the_access_log(strict: ServerProcess) -> None:
    result = exchange(strict.port, b"NOT AN HTTP REQUEST\r\n\r\n")
    assert_refused(result, 400, "bad_request")
    strict.wait_for_log(lambda entry: entry.get("message") == "request refused" and entry.get("status") == 400)


def test_refusals_are_counted_and_the_server_keeps_serving(strict: ServerProcess, trained: TrainedModel) -> None:
    exchange(strict.port, request("/healthz", b"X-Big: " + b"a" * MB))
    metrics = strict.client.get("/metrics").text
    refused = [line for line in metrics.splitlines() if 'handler="other"' in line and 'status="431"' in line]
    assert refused, "431s are in lighthouse_http_requests_total"
    assert refused[0].startswith("lighthouse_http_requests_total")
    assert float(refused[0].rsplit(" ", 1)[1]) >= 1
    response = strict.client.post("/predict", json={"instances": trained.instances()[:3]})
    assert response.status_code == 200
    assert not [line for line in strict.logs() if isinstance(line.get("status"), int) and line["status"] >= 500]


@pytest.fixture(scope="module")
def capped(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("capped") / "server.log"
    server = start_server(trained.model_dir, log, MAX_CONCURRENCY="2", MAX_CONNECTIONS="6", BODY_TIMEOUT="30")
    yield server
    server.stop()


def open_upload(port: int) -> socket.socket:
    """A /predict whose body has not arrived: in flight until its body deadline."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(request("/predict", *JSON_POST, b"Content-Length: 100", method=b"POST") + b"{")
    return sock


def test_requests_beyond_the_concurrency_cap_get_503_but_probes_do_not(capped: ServerProcess) -> None:
    uploads = [open_upload(capped.port) for _ in range(2)]
    try:
        deadline = time.monotonic() + 30
        while True:  # both uploads are in the app once a third /predict is refused
            probe = request("/predict", *JSON_POST, b"Content-Length: 2", b"Connection: close", method=b"POST")
            refused = exchange(capped.port, probe + b"{}")
            if refused.status == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert refused.status == 503, refused.response[:300]
        assert refused.body["error"] == "overloaded"
        assert refused.headers["retry-after"] == "1"
        assert exchange(capped.port, request("/healthz", b"Connection: close")).status == 200
    finally:
        for sock in uploads:
            sock.close()


def test_connections_beyond_the_cap_are_closed_at_once(capped: ServerProcess) -> None:
    held = [socket.create_connection(("127.0.0.1", capped.port), timeout=30) for _ in range(6)]
    try:
        time.sleep(0.5)  # the server has accepted them
        result = exchange(capped.port, request("/healthz"), limit=SLACK)
        assert result.response == b""
        assert result.seconds < SLACK
        assert capped.wait_for_log(lambda entry: entry.get("event") == "connection_refused")
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    assert exchange(capped.port, request("/healthz", b"Connection: close")).status == 200
