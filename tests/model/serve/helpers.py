"""Real server processes for the tests: start on a free 127.0.0.1 port, wait until ready, stop by pid."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]
#: Limits of the shared server, small so the tests can exceed them cheaply.
MAX_BATCH = 50
MAX_BODY_BYTES = 16_384
#: Generous: imports alone take seconds on a busy 2-core machine. Never a performance assertion.
READY_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(model_dir: Path, port: int, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MODEL_DIR", "WORKERS", "MAX_BATCH", "MAX_BODY_BYTES")}
    env.update({"MODEL_DIR": str(model_dir), "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "info"})
    env.update(overrides)
    return env


@dataclass
class ServerProcess:
    """One `python -m model.serve` child; its JSON log lines go to a file."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for_log(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """The first log line matching `predicate`, polling: a line is written just after its response."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.logs() if predicate(line)]
            if found or time.monotonic() > deadline:
                assert found, f"no matching log line in {self.log_path}"
                return found[0]
            time.sleep(0.05)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server not ready after {timeout} s:\n{self.log_path.read_text()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait, SIGKILL as a last resort; return the exit code."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


def start_server(
    model_dir: Path, log_path: Path, wait: bool = True, python: str = sys.executable, **env: str
) -> ServerProcess:
    """`python -m model.serve` from the repository root (on PYTHONPATH, as in the image's /app)."""
    port = free_port()
    env = {"PYTHONPATH": str(ROOT), **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [python, "-m", "model.serve"],
            cwd=ROOT,
            env=server_env(model_dir, port, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process, port, log_path)
    if wait:
        server.wait_ready()
    return server


def run_server_to_exit(model_dir: Path, timeout: float = 60.0, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a server that is expected to refuse to start; return its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "model.serve"],
        cwd=ROOT,
        env=server_env(model_dir, free_port(), **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
