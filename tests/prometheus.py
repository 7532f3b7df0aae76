"""A real Prometheus on 127.0.0.1 for integration tests.

`PrometheusServer` writes a config that scrapes the given targets, each with its own labels (for example
`role="canary"` and `role="stable"`, as the PodMonitor relabelling gives pods in a cluster), starts the
`prometheus` binary on a free loopback port, waits until it is ready and until targets were scraped, and
queries it through the HTTP API. Use it as a context manager; it stops the process (and only it) on exit.
The first scrape comes about 5 s after start: Prometheus 2.x applies discovered targets on a fixed 5 s tick.

    with PrometheusServer(tmp_path, [ScrapeTarget("127.0.0.1:8081", {"role": "canary"})]) as prometheus:
        prometheus.wait_for_scrapes(3)
        samples = prometheus.query('sum(lighthouse_http_requests_total{role="canary"})')
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

JOB = "lighthouse"


@dataclass(frozen=True)
class ScrapeTarget:
    address: str  # host:port
    labels: Mapping[str, str] = field(default_factory=dict)
    metrics_path: str = "/metrics"

    def selector(self) -> str:
        """A PromQL label matcher for this target's series (address and labels)."""
        matchers = {"instance": self.address, **self.labels}
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(matchers.items())) + "}"


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class PrometheusError(RuntimeError):
    """Prometheus refused a query or failed to start; the message carries its reason."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prometheus_config(
    targets: Sequence[ScrapeTarget], scrape_interval: str, rule_files: Sequence[Path] = ()
) -> dict[str, Any]:
    """One scrape job per metrics path; each target keeps its own static labels."""
    jobs: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        jobs.setdefault(target.metrics_path, []).append({"targets": [target.address], "labels": dict(target.labels)})
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": JOB if index == 0 else f"{JOB}-{index}",
                "metrics_path": path,
                "scrape_timeout": scrape_interval,
                "static_configs": static_configs,
            }
            for index, (path, static_configs) in enumerate(jobs.items())
        ],
    }


class PrometheusServer:
    def __init__(
        self,
        workdir: Path,
        targets: Sequence[ScrapeTarget],
        *,
        binary: str = "prometheus",
        scrape_interval: str = "1s",
        rule_files: Sequence[Path] = (),
        port: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.targets = list(targets)
        self.binary = binary
        self.scrape_interval = scrape_interval
        self.rule_files = list(rule_files)
        self.port = port or free_port()
        self.config_path = workdir / "prometheus.yml"
        self.log_path = workdir / "prometheus.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    def start(self, timeout: float = 30) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = prometheus_config(self.targets, self.scrape_interval, self.rule_files)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1d",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PrometheusError(f"prometheus exited with {self._process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"prometheus was not ready within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {dict(params or {})}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Instant query at `at` (epoch seconds) or now; a scalar comes back as one unlabelled sample."""
        params = {"query": expr} | ({"time": repr(at)} if at is not None else {})
        data = self._get("/api/v1/query", params)
        if data["resultType"] == "scalar":
            return [Sample({}, float(data["result"][1]))]
        if data["resultType"] != "vector":
            raise PrometheusError(f"{expr!r} returned a {data['resultType']}, not an instant vector")
        return [Sample(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]

    def active_targets(self) -> list[dict[str, Any]]:
        targets: list[dict[str, Any]] = self._get("/api/v1/targets", {"state": "active"})["activeTargets"]
        return targets

    def wait_for_scrapes(
        self, count: int = 2, timeout: float = 30, targets: Sequence[ScrapeTarget] | None = None
    ) -> None:
        """Block until each target (default: all) was scraped successfully at least `count` times."""
        waiting_for = list(targets if targets is not None else self.targets)
        deadline = time.monotonic() + timeout
        while True:
            missing = [t for t in waiting_for if self._successful_scrapes(t) < count]
            if not missing:
                return
            if time.monotonic() > deadline:
                errors = {t["scrapeUrl"]: t["lastError"] for t in self.active_targets() if t["lastError"]}
                raise TimeoutError(
                    f"after {timeout}s these targets had fewer than {count} successful scrapes: "
                    f"{[t.selector() for t in missing]}; scrape errors: {errors}"
                )
            time.sleep(0.2)

    def _successful_scrapes(self, target: ScrapeTarget) -> int:
        samples = self.query(f"sum_over_time(up{target.selector()}[1h])")
        return int(sum(sample.value for sample in samples))
