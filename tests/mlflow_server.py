"""A real `mlflow server` process on a free 127.0.0.1 port, with a sqlite backend in a temporary directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Generous: its imports and schema migrations took over 120 s on this 2-core machine under load (load average 15).
READY_S = 300


@contextmanager
def mlflow_server(root: Path) -> Iterator[str]:
    """Start the server, wait for /health, yield its URL, stop it (by its own pid) afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    mlflow = Path(sys.executable).parent / "mlflow"
    command = [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += [
        "--backend-store-uri",
        f"sqlite:///{root / 'registry.db'}",
        "--artifacts-destination",
        str(root / "art"),
    ]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PATH": f"{mlflow.parent}{os.pathsep}{os.environ['PATH']}"}
    log_path = root / "mlflow-server.log"
    with log_path.open("w") as log:
        # Its own process group: the server's workers are stopped with it, and nothing else is.
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(process, url, log_path)
            yield url
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group; SIGKILL if it has not exited within a minute (a loaded machine)."""
    for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 30)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"mlflow server not healthy after {READY_S} s: {log_path.read_text()[-2000:]}")
