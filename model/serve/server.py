"""The application as `python -m model.serve` runs it: `build_app` with the inference log as a prediction hook.

One `InferenceLogger` per server process (per worker with WORKERS > 1), configured by `INFERENCE_LOG_*`
(docs/monitoring.md). Its counters go on the server's metrics registry, so /metrics shows them; with several
workers prometheus_client's per-process files merge them like every other metric. The logger's `log()` never
blocks or raises; it is closed (its open file finished) at shutdown, after in-flight requests drained.
"""

from __future__ import annotations

import logging
import os

from starlette.types import ASGIApp

from model.core.signing import ArtifactPolicy
from model.serve import logs
from model.serve.app import PredictionEvent, PredictionHook, build_app
from model.serve.config import Settings
from model.serve.inference_log import InferenceLogConfig, InferenceLogger
from model.serve.metrics import new_registry
from model.serve.service import ModelService

log = logging.getLogger("model.serve")


class InferenceLogHook:
    """Hands each successful prediction to the inference log: the validated instances (what the model saw), the
    positive-class probabilities, the model version and the request id (the key delayed labels join on)."""

    def __init__(self, logger: InferenceLogger) -> None:
        self.logger = logger

    def __call__(self, event: PredictionEvent) -> None:
        probabilities = event.prediction.probabilities.tolist()  # plain floats, as the JSON line holds them
        self.logger.log(event.instances, probabilities, event.model_version, event.request_id)

    def close(self) -> None:
        self.logger.close()
        log.info("inference log closed", extra={"event": "inference_log_closed", **self.logger.counts()})

    def __repr__(self) -> str:
        return f"InferenceLogHook({self.logger.config.directory})"


def server_app(settings: Settings, service: ModelService, inference_log: InferenceLogConfig) -> ASGIApp:
    """The served application; logs predictions when `inference_log.directory` is set."""
    registry = new_registry()
    hooks: list[PredictionHook] = []
    logger = InferenceLogger(inference_log, registry=registry)
    if logger.enabled:
        hooks.append(InferenceLogHook(logger))
        log.info(
            "inference log on",
            extra={
                "directory": str(inference_log.directory),
                "sample_rate": inference_log.sample_rate,
                "max_queue": inference_log.max_queue,
            },
        )
    return build_app(settings, service, hooks, registry=registry)


def app_from_env() -> ASGIApp:
    """The factory each worker calls when WORKERS > 1 (the parent has already checked the model and settings)."""
    settings = Settings.from_env(os.environ)
    logs.configure(settings.log_level)
    inference_log = InferenceLogConfig.from_env(os.environ)
    service = ModelService.load(settings.model_dir, threads=1, policy=ArtifactPolicy.from_env(os.environ))
    return server_app(settings, service, inference_log)
