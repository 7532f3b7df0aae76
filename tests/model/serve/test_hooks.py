"""Prediction hooks (the seam for inference logging) see each successful prediction, and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from model.serve.app import PredictionEvent, build_app
from model.serve.config import Settings
from model.serve.service import ModelService
from tests.model.serve.training import TrainedModel


def test_hooks_receive_each_successful_prediction(trained: TrainedModel) -> None:
    events: list[PredictionEvent] = []
    service = ModelService.load(trained.model_dir, threads=1)
    app = build_app(Settings(model_dir=trained.model_dir), service, hooks=[events.append])
    instances = trained.instances()[:3]

    async def exercise() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            ok = await client.post("/predict", json={"instances": instances}, headers={"X-Request-ID": "hooked"})
            bad = await client.post("/predict", json={"instances": []})
            return [ok.status_code, bad.status_code]

    assert asyncio.run(exercise()) == [200, 422]
    assert len(events) == 1
    event = events[0]
    assert event.request_id == "hooked"
    assert event.instances == instances
    assert event.model_version == trained.record.sha256[:12]
    assert (
        event.prediction.probabilities.tolist() == trained.pipeline.predict_proba(trained.x_test.head(3))[:, 1].tolist()
    )


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """The ASGI lifespan as uvicorn drives it: startup, then (after the block) shutdown."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    yield
    await to_app.put({"type": "lifespan.shutdown"})
    assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
    await task


class ClosingHook:
    """Records events and whether it was closed, and when (after which events)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.events: list[PredictionEvent] = []
        self.closed_after: int | None = None

    def __call__(self, event: PredictionEvent) -> None:
        self.events.append(event)
        if self.fail:
            raise RuntimeError("hook broke")

    def close(self) -> None:
        self.closed_after = len(self.events)
        if self.fail:
            raise RuntimeError("close broke")


def test_a_failing_hook_fails_no_request_and_hooks_close_at_shutdown(
    trained: TrainedModel, caplog: pytest.LogCaptureFixture
) -> None:
    broken, healthy = ClosingHook(fail=True), ClosingHook()
    service = ModelService.load(trained.model_dir, threads=1)
    app = build_app(Settings(model_dir=trained.model_dir), service, hooks=[broken, healthy])

    async def exercise() -> None:
        transport = httpx.ASGITransport(app=app)
        async with lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            for instance in trained.instances()[:2]:
                response = await client.post("/predict", json={"instances": [instance]})
                assert response.status_code == 200
                assert response.json()["predictions"][0]["probability"] > 0
            assert (broken.closed_after, healthy.closed_after) == (None, None)

    asyncio.run(exercise())
    assert len(broken.events) == len(healthy.events) == 2, "a hook after a failing one still runs"
    assert (broken.closed_after, healthy.closed_after) == (2, 2), "both closed at shutdown, a failing one too"
    messages = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert sum("prediction hook" in m and "failed" in m for m in messages) == 3  # two calls and one close
