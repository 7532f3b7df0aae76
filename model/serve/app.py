"""The ASGI application: routes, request validation, error responses and per-request instrumentation.

Starlette routes the requests; a small pure-ASGI middleware around it gives every request an id, times it,
counts it by endpoint and status, logs it, and turns any unexpected exception into a JSON 500 without a stack
trace. /predict is: check the content type, read the body up to the limit, validate it against the contract in
one pass, predict, count the scores, run the prediction hooks, answer.

`python -m model.serve` builds this app with the inference log as its hook (`model/serve/server.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from model.serve import STARTED_AT, logs
from model.serve.config import Settings
from model.serve.metrics import CONTENT_TYPE, Metrics
from model.serve.predictor import Prediction
from model.serve.protocol import BODY_TIMED_OUT, REFUSAL_RECORDER
from model.serve.schema import Instance, Problem, openapi_document, problems, request_adapter
from model.serve.service import ModelService

log = logging.getLogger("model.serve")
access_log = logging.getLogger("model.serve.access")

HANDLERS = ("/predict", "/healthz", "/readyz", "/metrics", "/version", "/openapi.json")
OTHER = "other"
#: Probes and scrapes are logged at debug: at info they would drown the requests that matter.
QUIET_HANDLERS = frozenset({"/healthz", "/readyz", "/metrics"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REQUEST_ID_HEADER = b"x-request-id"
CLIENT_CLOSED = 499
MAX_REQUEST_ID = 128
#: A caller's X-Request-ID is kept only when it is 1..128 of these: it goes into response headers, JSON logs and
#: the inference log, and is the key delayed labels are joined on (a CSV column), so nothing to quote or escape.
REQUEST_ID_PATTERN = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,%d}" % MAX_REQUEST_ID)


@dataclass(frozen=True)
class PredictionEvent:
    """What a prediction hook receives after each successful /predict (e.g. sampled inference logging)."""

    request_id: str | None
    instances: list[Instance]
    prediction: Prediction
    model_version: str


#: Called after each successful /predict. A hook that also has a `close()` method is closed at shutdown, once
#: in-flight requests have drained (e.g. to flush a log).
PredictionHook = Callable[[PredictionEvent], None]


@dataclass
class ServerState:
    settings: Settings
    service: ModelService
    metrics: Metrics
    adapter: Any
    openapi: bytes
    version: bytes
    ready: bool = False
    hooks: list[PredictionHook] = field(default_factory=list)


class ApiError(Exception):
    """A 4xx answer: status, a short kind, and the problems naming each field."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        found: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.problems = status, kind, message, found or []
        self.headers = headers or {}


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def error_response(status: int, kind: str, message: str, found: list[Problem] | None = None) -> Response:
    body: dict[str, Any] = {"error": kind, "message": message}
    if found:
        body["problems"] = [p.as_dict() for p in found]
    rid = logs.request_id.get()
    if rid is not None:
        body["request_id"] = rid
    return json_response(body, status)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed `limit` bytes, declared or streamed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"body: {declared} bytes is over the limit of {limit} (MAX_BODY_BYTES)")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "body_too_large", f"body: over the limit of {limit} bytes (MAX_BODY_BYTES)")
            chunks.append(chunk)
    except ClientDisconnect:
        timed_out = request.scope.get(BODY_TIMED_OUT)
        if timed_out:  # the protocol answered already (408, or 503 at shutdown); this is what the log says
            raise ApiError(timed_out, "request_timeout", "body: not complete in time") from None
        # Nobody is left to answer; 499 (nginx's "client closed request") keeps it out of the 5xx error rate.
        raise ApiError(CLIENT_CLOSED, "client_closed_request", "body: the client went away mid-request") from None
    return b"".join(chunks)


def check_unique_keys(body: bytes) -> None:
    """400 naming the first key that an object of the body repeats."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                raise ApiError(400, "duplicate_key", f"body: key {key[:100]!r} appears more than once in an object")
            seen[key] = value
        return seen

    json.loads(body, object_pairs_hook=pairs)


def check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        shown = content_type[:100] or "none"
        raise ApiError(415, "unsupported_media_type", f"Content-Type: must be application/json (got {shown!r})")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        raise ApiError(415, "unsupported_media_type", f"Content-Encoding: {encoding!r} is not supported")


def validation_error(exc: ValidationError, max_batch: int) -> ApiError:
    """Map pydantic's errors to 400 (not JSON), 413 (too many instances) or 422 (breaks the schema)."""
    errors = exc.errors(include_url=False)
    if errors and errors[0]["type"] == "json_invalid":
        return ApiError(400, "invalid_json", f"body: not valid JSON: {errors[0]['msg'].removeprefix('Invalid JSON: ')}")
    if any(e["type"] == "too_long" and tuple(e["loc"]) == ("instances",) for e in errors):
        return ApiError(413, "too_many_instances", f"instances: more than {max_batch} instances (MAX_BATCH)")
    found = problems(exc)
    summary = "; ".join(str(p) for p in found[:3])
    more = len(errors) - min(len(found), 3)
    return ApiError(422, "invalid_request", summary + (f"; and {more} more" if more > 0 else ""), found)


async def predict(request: Request) -> Response:
    state: ServerState = request.app.state.server
    check_content_type(request)
    body = await read_body(request, state.settings.max_body_bytes)
    try:
        payload = state.adapter.validate_json(body)
    except ValidationError as exc:
        raise validation_error(exc, state.settings.max_batch) from None
    instances: list[Instance] = payload["instances"]
    # Duplicate keys: the parser keeps the last. Each key in the body has a colon after it, so as many colons as
    # keys parsed means none is repeated (one C-speed count); otherwise (repeats, or colons inside strings) the
    # exact check decides.
    if body.count(b":") != 1 + sum(map(len, instances)):
        check_unique_keys(body)
    prediction = state.service.predictor.predict(instances)
    state.metrics.observe_predictions(prediction.probabilities)
    version = state.service.info.model_version
    if state.hooks:
        event = PredictionEvent(logs.request_id.get(), instances, prediction, version)
        for hook in state.hooks:
            try:
                hook(event)
            except Exception:  # a hook is an observer: its failure must not fail the prediction
                log.exception("prediction hook %r failed; the response is sent anyway", hook)
    scored = zip(prediction.probabilities.tolist(), prediction.labels, strict=True)
    return json_response(
        {"predictions": [{"probability": p, "label": label} for p, label in scored], "model_version": version}
    )


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    state: ServerState = request.app.state.server
    return json_response({"status": "ready"}) if state.ready else json_response({"status": "not ready"}, 503)


async def metrics(request: Request) -> Response:
    state: ServerState = request.app.state.server
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE)


async def version(request: Request) -> Response:
    state: ServerState = request.app.state.server
    return Response(state.version, media_type="application/json")


async def openapi(request: Request) -> Response:
    state: ServerState = request.app.state.server
    return Response(state.openapi, media_type="application/json")


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    response = error_response(exc.status, exc.kind, exc.message, exc.problems)
    response.headers.update(exc.headers)
    return response


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        response = error_response(
            405, "method_not_allowed", f"{request.method} {request.url.path}: method not allowed (allowed: {allowed})"
        )
    elif exc.status_code == 404:
        response = error_response(404, "not_found", f"{request.url.path}: no such endpoint")
    else:
        response = error_response(exc.status_code, "http_error", str(exc.detail))
    response.headers.update(exc.headers or {})  # e.g. the `Allow` header RFC 9110 requires on a 405
    return response


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this response; Instrumentation logs the exception once, with the request id.
    return error_response(500, "internal_error", "internal error; the request id is in the server log")


class Instrumentation:
    """Request id, in-flight gauge, latency and count by endpoint/method/status, the access log line, and the
    concurrency cap (MAX_CONCURRENCY requests at once; probes and scrapes are never refused)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_concurrency: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_concurrency = max_concurrency
        self.active = 0

    def record_refusal(self, status: int, seconds: float) -> None:
        """A request the HTTP protocol refused before the app saw it (431, 408, 400): counted as `other`."""
        self.metrics.observe_request(OTHER, OTHER, status, seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and "state" in scope:
                scope["state"][REFUSAL_RECORDER] = self.record_refusal  # uvicorn hands this state to the protocol
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        handler = path if path in HANDLERS else OTHER
        method = scope["method"] if scope["method"] in METHODS else OTHER
        rid = _request_id(scope) or uuid.uuid4().hex
        token = logs.request_id.set(rid)
        status = 500
        quiet = handler in QUIET_HANDLERS

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, rid.encode())]
            await send(message)

        if not quiet:
            access_log.debug("request received", extra={"method": method, "path": path[:200]})
        self.metrics.in_flight.inc()
        start = time.perf_counter()
        busy = not quiet and self.active >= self.max_concurrency
        self.active += 1
        try:
            if busy:
                await self._busy(send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            # Already answered with a JSON 500 by the app's handler; log here (not in uvicorn) with the id.
            log.exception("unhandled error", extra={"method": method, "path": path[:200]})
        finally:
            self.active -= 1
            elapsed = time.perf_counter() - start
            self.metrics.in_flight.dec()
            self.metrics.observe_request(handler, method, status, elapsed)
            level = logging.DEBUG if quiet and status < 400 else logging.INFO
            if access_log.isEnabledFor(level):
                fields = {
                    "method": method,
                    "path": path[:200],
                    "status": status,
                    "duration_ms": round(elapsed * 1e3, 3),
                }
                access_log.log(level, "request", extra=fields)
            logs.request_id.reset(token)

    async def _busy(self, send: Send) -> None:
        response = error_response(
            503, "overloaded", f"{self.max_concurrency} requests in progress (MAX_CONCURRENCY); retry shortly"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [*response.raw_headers, (b"retry-after", b"1")],
            }
        )
        await send({"type": "http.response.body", "body": response.body})


def _request_id(scope: Scope) -> str | None:
    """The caller's (first) X-Request-ID when it matches REQUEST_ID_PATTERN; else None (a new id is made)."""
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            return value.decode("ascii") if REQUEST_ID_PATTERN.fullmatch(value) else None
    return None


def build_app(
    settings: Settings,
    service: ModelService,
    hooks: Sequence[PredictionHook] = (),
    *,
    registry: CollectorRegistry | None = None,
) -> ASGIApp:
    """The application for one loaded model; everything per-request is precomputed here.

    `hooks` run in order after each successful prediction, before the response is sent; keep them cheap (e.g.
    sample, then hand the event to a queue) since they run on the request's event loop. A hook's exception is
    logged, never answered. Hooks with a `close()` are closed at shutdown, after in-flight requests drained.
    `registry`: where the server's metrics go (default: a new one), so a hook can add its own to /metrics.
    """
    metrics_ = Metrics(service.info, (*HANDLERS, OTHER), registry)
    adapter = request_adapter(service.contract, settings.max_batch)
    document = openapi_document(service.contract, adapter, settings.max_batch, settings.max_body_bytes)
    state = ServerState(
        settings=settings,
        service=service,
        metrics=metrics_,
        adapter=adapter,
        openapi=orjson.dumps(document),
        version=orjson.dumps(service.info.as_dict()),
        hooks=list(hooks),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.ready = True
        log.info(
            "ready",
            extra={
                **service.info.as_dict(),
                "strategy": service.predictor.strategy,
                "pid": os.getpid(),
                "startup_seconds": round(time.monotonic() - STARTED_AT, 3),
            },
        )
        yield
        # uvicorn sends the lifespan shutdown only after in-flight requests drained: no hook is running now.
        state.ready = False
        for hook in state.hooks:
            close = getattr(hook, "close", None)
            if callable(close):
                try:
                    await asyncio.to_thread(close)  # e.g. a log flushing to a slow disk; keep the loop free
                except Exception:
                    log.exception("closing prediction hook %r failed", hook)
        Metrics.process_exited()

    app = Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/version", version, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error, Exception: on_unexpected},
        lifespan=lifespan,
    )
    # No slash redirects: Starlette builds them from the client's Host header (an open redirect); /predict/ is a 404.
    app.router.redirect_slashes = False
    app.state.server = state
    # Outermost, so the request id and the metrics also cover Starlette's own error responses.
    return Instrumentation(app, metrics_, settings.max_concurrency)


__all__ = ["PredictionEvent", "PredictionHook", "build_app"]
