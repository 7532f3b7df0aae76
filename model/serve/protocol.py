"""HTTP/1.1 as uvicorn's httptools protocol speaks it, plus the limits neither of them has.

uvicorn gives the keep-alive timeout and the graceful-shutdown timeout; httptools has no limit on header size or
count, and uvicorn arms no timer before a connection's first request, while headers arrive, or while a body
arrives (its h11 protocol bounds header bytes only, and parses several times slower). So this subclass adds, by
hand and only where uvicorn has nothing:

- header bytes and header count (431), checked as the parser goes, so an unterminated header holds at most the
  limit plus one read in memory;
- a header deadline from the connection (or a request's first byte) and a body deadline from the end of the headers
  (408; a connection that never sent a byte is just closed);
- a cap on open connections (closed as soon as accepted);
- refusals as JSON with `Connection: close`, in the access log and the request metrics (uvicorn's are plain text),
  followed by a lingering close so the client reads the refusal rather than a reset;
- a drain at shutdown: a request in progress is answered with `Connection: close`, an idle keep-alive connection
  stays open a moment so a request already on its way is answered too, and a read still unfinished when the grace
  period is nearly over gets a JSON 503.

The ASGI app learns about a body timeout through the scope (BODY_TIMED_OUT), and gives the protocol its request
metrics through the lifespan state (REFUSAL_RECORDER).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

access_log = logging.getLogger("model.serve.access")
log = logging.getLogger("model.serve")

#: Scope key the protocol sets when a request's body did not arrive in time (the app then reports 408, not 499).
BODY_TIMED_OUT = "lighthouse.body_timed_out"
#: Lifespan-state key of a callable(status, seconds) that counts a refusal made before the app saw the request.
REFUSAL_RECORDER = "lighthouse.record_refusal"
#: At shutdown an idle keep-alive connection is closed once it has been idle this long (or KEEPALIVE_TIMEOUT).
DRAIN_IDLE_SECONDS = 1.0
#: After a refusal the connection reads and discards what the client still sends, for at most this long, so the
#: client reads the refusal instead of a reset (nginx's and Apache's "lingering close").
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class Limits:
    """The protocol's limits (from Settings; the defaults are Settings' defaults)."""

    max_header_bytes: int = 16_384
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 15.0
    max_connections: int = 1024


class ServerConfig(Config):
    """uvicorn's Config carrying the protocol's limits (picklable, so WORKERS > 1 processes get them too)."""

    def __init__(self, app: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(app, http=LighthouseProtocol, **kwargs)
        self.limits = limits


class Phase(enum.Enum):
    IDLE = "idle"  # between requests (or before the first byte)
    HEAD = "head"  # request line and headers arriving
    BODY = "body"  # headers complete, body arriving


class RefusalError(Exception):
    """Raised inside a parser callback to stop parsing and answer `status`."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


class LighthouseProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above; everything else is uvicorn's."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: Limits = getattr(config, "limits", Limits())
        self.grace = float(config.timeout_graceful_shutdown or 0) or None
        self.phase = Phase.IDLE
        self.head_bytes = 0  # bytes of the current head the callbacks have seen (URL, complete headers)
        self.head_fed = 0  # bytes fed while the head was incomplete, after the read in which it began
        self.header_count = 0
        self.timer: asyncio.TimerHandle | None = None
        self.timer_phase: Phase | None = None
        self.deadline = 0.0
        self.opened = self.began = self.draining_since = 0.0
        self.draining = False
        self.lingering = False
        self.bytes_seen = False

    # --- connection ------------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            log.warning(
                "connection refused: %d open connections (MAX_CONNECTIONS=%d)",
                len(self.connections) - 1,
                self.limits.max_connections,
                extra={"event": "connection_refused"},
            )
            transport.close()
            return
        self.opened = self.began = self.loop.time()
        # The first request's headers must be complete within HEADER_TIMEOUT of the connection: a connection that
        # sends nothing, or never finishes its headers, is not kept.
        self._arm(Phase.HEAD, self.opened + self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # refused already: what the client still sends is read and dropped
        self._unset_keepalive_if_required()
        self.bytes_seen = True
        head_before = self.phase is Phase.HEAD
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, RefusalError):
                self._refuse(cause.status, cause.kind, cause.message)
            else:
                self._refuse(400, "bad_request", f"invalid HTTP request: {exc}")
            return
        except httptools.HttpParserError as exc:
            self._refuse(400, "bad_request", f"invalid HTTP request: {exc}")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self.phase is Phase.HEAD:
            if head_before:
                self.head_fed += len(data)
            if self.head_fed > self.limits.max_header_bytes:
                self._refuse(431, "headers_too_large", self._too_large_message())
                return
        self._update_timer()

    # --- parser callbacks ------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.phase = Phase.HEAD
        self.head_bytes = self.head_fed = self.header_count = 0
        self.began = self.loop.time()

    def on_url(self, url: bytes) -> None:
        self.head_bytes += len(url)
        if self.head_bytes > self.limits.max_header_bytes:
            raise RefusalError(431, "headers_too_large", self._too_large_message())
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        self.head_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self.header_count > self.limits.max_headers:
            raise RefusalError(
                431, "too_many_headers", f"headers: more than {self.limits.max_headers} header fields (MAX_HEADERS)"
            )
        if self.head_bytes > self.limits.max_header_bytes:
            raise RefusalError(431, "headers_too_large", self._too_large_message())
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.phase = Phase.BODY
        super().on_headers_complete()
        if self.draining and self.cycle is not None:
            self.cycle.keep_alive = False  # answered with `Connection: close`

    def on_message_complete(self) -> None:
        self.phase = Phase.IDLE
        super().on_message_complete()

    # --- deadlines -------------------------------------------------------------------------------------------

    def _update_timer(self) -> None:
        """After each read: the deadline of the phase the parser is in (none between requests)."""
        if self.phase is Phase.IDLE:
            if self.timer_phase is not None and not self.draining:
                self._cancel_timer()
            return
        if self.timer_phase is self.phase:
            return  # the deadline runs from when the phase began
        limit = self.limits.header_timeout if self.phase is Phase.HEAD else self.limits.body_timeout
        deadline = self.loop.time() + limit
        if self.draining:
            deadline = min(deadline, self._drain_deadline())
        self._arm(self.phase, deadline)

    def _arm(self, phase: Phase, deadline: float) -> None:
        self._cancel_timer()
        self.timer_phase, self.deadline = phase, deadline
        self.timer = self.loop.call_at(deadline, self._on_deadline)

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.timer_phase = None

    def _on_deadline(self) -> None:
        self.timer = None
        phase, self.timer_phase = self.timer_phase, None
        if self.transport.is_closing():
            return
        if self.draining and self.phase is Phase.IDLE and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # idle while draining: nothing was on its way
            return
        shutting_down = self.draining and self.loop.time() >= self._drain_deadline() - 1e-3
        if self.phase is Phase.HEAD:
            if shutting_down:
                self._refuse(503, "shutting_down", "the server is shutting down; retry on another connection")
            else:
                seconds = self.limits.header_timeout
                self._refuse(408, "request_timeout", f"headers: not complete within {seconds:g} s (HEADER_TIMEOUT)")
        elif self.phase is Phase.BODY:
            self._body_deadline(shutting_down)
        elif phase is Phase.HEAD and not self.bytes_seen:
            self.transport.close()  # a connection that never sent a byte: nobody to answer
        elif self.cycle is None or self.cycle.response_complete:
            self.transport.close()

    def _body_deadline(self, shutting_down: bool) -> None:
        cycle = self.cycle
        if cycle is None or cycle.response_started:
            self.transport.close()  # answered already (e.g. an endpoint that reads no body): stop waiting for it
            return
        if shutting_down:
            status, kind, message = 503, "shutting_down", "the server is shutting down; retry on another connection"
        else:
            status, kind = 408, "request_timeout"
            message = f"body: not complete within {self.limits.body_timeout:g} s (BODY_TIMEOUT)"
        cycle.scope[BODY_TIMED_OUT] = status  # type: ignore[literal-required]
        self._write_refusal(status, kind, message)
        cycle.disconnected = True  # the app's reads end; whatever it answers is dropped
        cycle.message_event.set()
        self._linger()

    # --- refusals --------------------------------------------------------------------------------------------

    def _too_large_message(self) -> str:
        return f"headers: more than {self.limits.max_header_bytes} bytes (MAX_HEADER_BYTES)"

    def _refuse(self, status: int, kind: str, message: str) -> None:
        """Answer a request the app never saw, count and log it, close the connection (lingering)."""
        self._cancel_timer()
        self._write_refusal(status, kind, message)
        self._linger()
        seconds = self.loop.time() - self.began
        record: Callable[[int, float], None] | None = self.app_state.get(REFUSAL_RECORDER)
        if record is not None:
            record(status, seconds)
        client = f"{self.client[0]}:{self.client[1]}" if self.client else None
        access_log.info(
            "request refused",
            extra={"status": status, "error": kind, "detail": message, "client": client},
        )

    def _linger(self) -> None:
        """Send our FIN after the refusal, drop what still arrives, close on the client's FIN or after a while."""
        self.lingering = True
        self._cancel_timer()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            until = self.loop.time() + LINGER_SECONDS
            if self.draining and self.grace is not None:  # never past the grace period
                until = min(until, self.draining_since + self.grace - 0.25)
            self.timer = self.loop.call_at(until, self.transport.close)
        else:
            self.transport.close()

    def _write_refusal(self, status: int, kind: str, message: str) -> None:
        body = orjson.dumps({"error": kind, "message": message})
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))

    # --- shutdown --------------------------------------------------------------------------------------------

    def _drain_deadline(self) -> float:
        """When unfinished reads are cut at shutdown: a second (or a quarter) before the grace period ends."""
        if self.grace is None:
            return float("inf")
        return self.draining_since + max(self.grace - 1.0, self.grace * 0.75)

    def shutdown(self) -> None:
        """uvicorn calls this on every connection after it stopped accepting: drain instead of dropping."""
        self.draining = True
        self.draining_since = self.loop.time()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # the request in progress is answered with `Connection: close`
        if self.phase is Phase.IDLE:
            if self.cycle is None or self.cycle.response_complete:
                # Idle: a request may already be on its way; it is answered (with `Connection: close`) if it
                # arrives before the connection has been idle a moment.
                self._unset_keepalive_if_required()
                self._arm(Phase.IDLE, self.draining_since + min(DRAIN_IDLE_SECONDS, self.timeout_keep_alive))
        else:
            self._arm(self.phase, min(self.deadline, self._drain_deadline()))
