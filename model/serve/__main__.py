"""`python -m model.serve`: verify the model, then serve it until SIGTERM (exit 0) — or refuse to start (exit 2).

`python -m model.serve --check` verifies and warms the model, prints what /version would say, and exits: the
image build runs it so an image with a broken model is never pushed.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import TYPE_CHECKING, Any

import orjson

from model.core.errors import LighthouseError
from model.core.signing import ArtifactPolicy
from model.serve import logs
from model.serve.config import MULTIPROCESS_ENV, Settings
from model.serve.inference_log import InferenceLogConfig

if TYPE_CHECKING:
    from model.serve.service import ModelService

log = logging.getLogger("model.serve")

EXIT_REFUSED = 2


def _refuse(message: str) -> int:
    log.error("refusing to start: %s", message, extra={"event": "startup_failed"})
    return EXIT_REFUSED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.serve", description=__doc__)
    parser.add_argument("--check", action="store_true", help="verify and warm the model, print its version, exit")
    args = parser.parse_args(argv)
    logs.configure("info")  # JSON from the first line, even when the settings themselves are wrong
    try:
        settings = Settings.from_env(os.environ)
        inference_log = InferenceLogConfig.from_env(os.environ)
        policy = ArtifactPolicy.from_env(os.environ)
    except LighthouseError as exc:
        return _refuse(str(exc))
    logs.configure(settings.log_level)

    if settings.workers > 1 and not args.check:
        # Verify in a short-lived child: workers that fail to load would be restarted forever by uvicorn, and
        # the parent need not hold a copy of the model it never serves.
        checked = subprocess.run([sys.executable, "-m", "model.serve", "--check"], capture_output=True, text=True)
        if checked.returncode != 0:
            sys.stdout.write(checked.stdout)  # the child's JSON log lines say why
            return checked.returncode
        log.info("model verified; starting %d workers", settings.workers)
        return serve_workers(settings)

    from model.serve.service import ModelService  # heavy: numpy, scikit-learn, skops

    try:
        service = ModelService.load(settings.model_dir, threads=1, policy=policy)
    except LighthouseError as exc:
        return _refuse(str(exc))
    if args.check:
        print(orjson.dumps({**service.info.as_dict(), "strategy": service.predictor.strategy}).decode())
        return 0
    return serve(settings, service, inference_log)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "log_config": None,
        "access_log": False,  # our middleware logs each request, in JSON, with its id
        "server_header": False,
        "timeout_keep_alive": settings.keepalive_timeout,
        "timeout_graceful_shutdown": settings.shutdown_timeout,
        "lifespan": "on",
    }


def server_config(settings: Settings, app: Any, **options: Any) -> Any:
    """uvicorn's Config with our HTTP protocol (model/serve/protocol.py) and its limits from the settings."""
    from model.serve.protocol import Limits, ServerConfig

    limits = Limits(
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=settings.max_connections,
    )
    return ServerConfig(app, limits, **uvicorn_options(settings), **options)


def serve(settings: Settings, service: ModelService, inference_log: InferenceLogConfig) -> int:
    """One process: the model loaded here, served here."""
    import uvicorn

    from model.serve.server import server_app

    # uvicorn re-raises the SIGTERM it handled once it has drained; a no-op handler turns that into exit 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    app = server_app(settings, service, inference_log)
    server = uvicorn.Server(server_config(settings, app))
    server.run()
    return 0 if server.started else 1


def serve_workers(settings: Settings) -> int:
    """WORKERS processes (uvicorn spawns them; each loads the model), metrics merged through files in /tmp."""
    from uvicorn.supervisors import Multiprocess

    signal.signal(signal.SIGTERM, lambda *_: None)
    metrics_dir = tempfile.mkdtemp(prefix="lighthouse-metrics-")
    os.environ[MULTIPROCESS_ENV] = metrics_dir
    try:
        # What uvicorn.run does for workers, with our Config (and so our protocol and limits) in every worker.
        config = server_config(settings, "model.serve.server:app_from_env", factory=True, workers=settings.workers)
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
