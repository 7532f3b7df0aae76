"""Prediction hooks (the seam for inference logging) see each successful prediction, and nothing else."""

from __future__ import annotations

import asyncio

import httpx

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
