"""Benchmark: this project's model server against `mlflow models serve`, same model, same machine, same run.

Both run as real processes on 127.0.0.1 with one worker each (mlflow's default); mlflow runs twice, as shipped
and with OMP_NUM_THREADS=1 (this server limits itself to one thread). The load comes from this process (an
asyncio HTTP/1.1 keep-alive client), so client and servers share the machine's cores, as in most CI runners.
Measured:
- start to ready (median of several starts): process start until the readiness endpoint answers;
- one request at a time: p50 / p99 latency of a one-instance request;
- 8 and 32 concurrent clients: throughput and p99;
- resident memory of the server's process tree after the load;
- installed size: a fresh environment with only requirements/serve.txt (as installed, and pruned like the
  image) against the full project environment;
- in-process cost of predicting one row: the pipeline on a DataFrame against the server's fast path.
Every loop is bounded in count and in time. Writes benchmarks/results/serve.json and prints a table.

    .venv/bin/python benchmarks/serve.py [--model-dir models] [--duration 5] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "serve.json"
REQUIREMENTS = ROOT / "requirements" / "serve.txt"
READY_TIMEOUT = 120.0
CONCURRENCY = (8, 32)
WARMUP_SECONDS = 1.0
MAX_REQUESTS = 200_000


# ---------------------------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    ready_path: str
    predict_path: str
    body: Callable[[dict[str, Any]], dict[str, Any]]
    probability: Callable[[Any], float]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path) -> float:
        """Start and wait until ready; return the seconds it took."""
        started = time.perf_counter()
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*self.command],
                env={**self.env, "PORT": str(self.port)},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches mlflow's uvicorn child too
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {log}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1.0).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {READY_TIMEOUT} s; see {log}")

    def rss_bytes(self) -> int:
        """Resident memory of the server and all its children."""
        assert self.process is not None
        parent = psutil.Process(self.process.pid)
        total = 0
        for proc in [parent, *parent.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # the group this script created for this server
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


# ------------------------------------------------------------------------------------------------------- client


def request_bytes(server: Server, instance: dict[str, Any]) -> bytes:
    body = json.dumps(server.body(instance)).encode()
    head = (
        f"POST {server.predict_path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def connection_loop(
    port: int, request: bytes, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            status = int(head[9:12])
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def load(port: int, request: bytes, clients: int, seconds: float) -> tuple[list[float], list[int], float]:
    """`clients` keep-alive connections sending back to back for `seconds`; returns latencies, errors, elapsed."""
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    await asyncio.gather(*(connection_loop(port, request, start + seconds, latencies, errors) for _ in range(clients)))
    return latencies, errors, time.perf_counter() - start


def run_load(port: int, request: bytes, clients: int, seconds: float) -> tuple[list[float], list[int], float]:
    try:
        import uvloop

        return uvloop.run(load(port, request, clients, seconds))
    except ImportError:
        return asyncio.run(load(port, request, clients, seconds))


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) * 1e3 if values else float("nan")


# ---------------------------------------------------------------------------------------------- the two servers


def ours(model_dir: Path, python: Path, workers: int) -> Server:
    env = {**os.environ, "MODEL_DIR": str(model_dir), "HOST": "127.0.0.1", "WORKERS": str(workers)}
    env.update({"LOG_LEVEL": "info", "PYTHONPATH": str(ROOT)})  # the default: one JSON access line per request
    return Server(
        name=f"model.serve ({workers} worker{'s' * (workers > 1)})",
        command=[str(python), "-m", "model.serve"],
        env=env,
        ready_path="/readyz",
        predict_path="/predict",
        body=lambda row: {"instances": [row]},
        probability=lambda answer: float(answer["predictions"][0]["probability"]),
    )


def mlflow_server(mlflow_model: Path, workers: int, one_thread: bool) -> Server:
    """As users run it; with `one_thread`, also tuned as this server is (OMP_NUM_THREADS=1: on busy cores,
    scikit-learn's OpenMP threads make a one-row prediction tens of times slower)."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    if one_thread:
        env["OMP_NUM_THREADS"] = "1"
    command = [str(VENV_BIN / "mlflow"), "models", "serve", "-m", str(mlflow_model), "--env-manager", "local"]
    command += ["-h", "127.0.0.1", "--workers", str(workers)]
    server = Server(
        name=f"mlflow models serve{', OMP_NUM_THREADS=1' if one_thread else ''}",
        command=command,
        env=env,
        ready_path="/ping",
        predict_path="/invocations",
        body=lambda row: {"dataframe_records": [row]},
        probability=lambda answer: float(answer["predictions"][0][1]),
    )
    server.command += ["-p", str(server.port)]
    return server


def save_mlflow_model(pipeline: Any, sample: Any, target: Path) -> Path:
    """The same fitted pipeline as an MLflow model that predicts probabilities (as /predict does)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow.sklearn
    import skops.io as sio
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = infer_signature(sample, pipeline.predict_proba(sample))
        mlflow.sklearn.save_model(
            pipeline,
            str(target),
            signature=signature,
            serialization_format="skops",
            skops_trusted_types=list(sio.get_untrusted_types(data=sio.dumps(pipeline))),
            pyfunc_predict_fn="predict_proba",
        )
    return target


# ------------------------------------------------------------------------------------------------- measurements


def measure(
    server: Server, instance: dict[str, Any], expected: float, args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    starts = []
    for i in range(args.starts):
        starts.append(server.start(log))
        if i < args.starts - 1:
            server.stop()
    result: dict[str, Any] = {"server": server.name, "start_to_ready_s": statistics.median(starts), "starts_s": starts}
    try:
        answer = httpx.post(server.url + server.predict_path, json=server.body(instance), timeout=30).json()
        result["probability_matches_pipeline"] = abs(server.probability(answer) - expected) < 1e-9
        request = request_bytes(server, instance)
        run_load(server.port, request, 1, WARMUP_SECONDS)
        latencies, errors, elapsed = run_load(server.port, request, 1, args.single_seconds)
        result["single"] = {
            "requests": len(latencies),
            "p50_ms": pct(latencies, 50),
            "p99_ms": pct(latencies, 99),
            "errors": len(errors),
        }
        for clients in CONCURRENCY:
            run_load(server.port, request, clients, WARMUP_SECONDS)
            latencies, errors, elapsed = run_load(server.port, request, clients, args.duration)
            result[f"c{clients}"] = {
                "requests": len(latencies),
                "rps": len(latencies) / elapsed,
                "p50_ms": pct(latencies, 50),
                "p99_ms": pct(latencies, 99),
                "errors": len(errors),
            }
        result["rss_mb"] = server.rss_bytes() / 2**20
    finally:
        server.stop()
    return result


def tree_size(path: Path) -> int:
    """Bytes of the files under `path`, bytecode caches excluded (they depend on what has been imported)."""
    return sum(
        p.lstat().st_size
        for p in path.rglob("*")
        if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts
    )


def serving_env(target: Path) -> dict[str, Any]:
    """Create an environment with only requirements/serve.txt; sizes as installed and as pruned for the image."""
    uv = ROOT / ".tools" / "bin" / "uv"
    uv_cmd = str(uv) if uv.exists() else (shutil.which("uv") or "uv")
    subprocess.run([uv_cmd, "venv", "--quiet", "--python", sys.executable, str(target)], check=True, timeout=300)
    subprocess.run(
        [
            uv_cmd,
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(REQUIREMENTS),
        ],
        env={**os.environ, "VIRTUAL_ENV": str(target)},
        check=True,
        timeout=900,
    )
    installed = tree_size(target)
    for tests_dir in sorted(target.glob("lib/python3*/site-packages/**/tests"), reverse=True):
        shutil.rmtree(tests_dir, ignore_errors=True)  # as the Dockerfile does
    return {"serving_installed_mb": installed / 2**20, "serving_image_mb": tree_size(target) / 2**20}


def in_process(model_dir: Path, frame: Any, rows: list[dict[str, Any]], repeat: int) -> dict[str, float]:
    """Milliseconds per one-row prediction: the whole pipeline on a DataFrame vs the server's paths."""
    from threadpoolctl import threadpool_limits

    from model.serve.service import ModelService

    service = ModelService.load(model_dir, threads=1)
    pipeline, predictor = service.pipeline, service.predictor
    estimator = pipeline.steps[-1][1]
    from model.serve.transform import compile_transform

    transform = compile_transform(pipeline.steps[0][1])

    def timed(fn: Callable[[int], object]) -> float:
        for i in range(10):
            fn(i)
        start = time.perf_counter()
        for i in range(repeat):
            fn(i)
        return (time.perf_counter() - start) / repeat * 1e3

    n = len(rows)
    with threadpool_limits(1):
        return {
            "pipeline_dataframe_ms": timed(lambda i: pipeline.predict_proba(frame.iloc[[i % n]])),
            "array_transform_plus_estimator_ms": timed(lambda i: estimator.predict_proba(transform([rows[i % n]]))),
            "server_fast_path_ms": timed(lambda i: predictor.predict([rows[i % n]])),
            "array_transform_only_ms": timed(lambda i: transform([rows[i % n]])),
        }


# ------------------------------------------------------------------------------------------------------ report


def table(report: dict[str, Any]) -> str:
    servers = report["servers"]
    head = ["", *[s["server"] for s in servers]]
    rows = [
        ["start to ready (s)", *[f"{s['start_to_ready_s']:.2f}" for s in servers]],
        ["1 client p50 / p99 (ms)", *[f"{s['single']['p50_ms']:.2f} / {s['single']['p99_ms']:.2f}" for s in servers]],
    ]
    for c in CONCURRENCY:
        rows.append(
            [
                f"{c} clients: req/s, p99 (ms)",
                *[f"{s[f'c{c}']['rps']:.0f}, {s[f'c{c}']['p99_ms']:.1f}" for s in servers],
            ]
        )
    rows.append(["memory, RSS incl. children (MB)", *[f"{s['rss_mb']:.0f}" for s in servers]])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]
    size = report["environment"]
    installed, pruned, full = size["serving_installed_mb"], size["serving_image_mb"], size["full_mb"]
    out.append(
        f"\nserving environment: {installed:.0f} MB installed ({installed / full:.2f} of the full .venv), "
        f"{pruned:.0f} MB pruned as in the image ({pruned / full:.2f}); full .venv {full:.0f} MB"
    )
    cost = report["in_process_one_row_ms"]
    out.append(
        "in-process, one row (ms): pipeline on a DataFrame {:.3f}; array transform + estimator {:.3f}; "
        "server fast path {:.3f} (transform alone {:.3f})".format(
            cost["pipeline_dataframe_ms"],
            cost["array_transform_plus_estimator_ms"],
            cost["server_fast_path_ms"],
            cost["array_transform_only_ms"],
        )
    )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per concurrency level")
    parser.add_argument("--single-seconds", type=float, default=5.0, help="seconds of one-at-a-time requests")
    parser.add_argument("--starts", type=int, default=3, help="starts per server for start-to-ready")
    parser.add_argument("--workers", type=int, default=1, help="workers for every server")
    parser.add_argument("--repeat", type=int, default=300, help="in-process repetitions per path")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    import pandas as pd

    from model.core import artifact
    from model.core.contract import load_contract
    from model.serve.service import contract_path

    pipeline, record = artifact.load_verified(args.model_dir)
    load_contract(contract_path(args.model_dir))  # fails early on a contract the model was not trained with
    split = ROOT / "data" / "split" / "test.parquet"
    frame = pd.read_parquet(split)[record.features] if split.exists() else None
    if frame is None:
        raise SystemExit(f"{split}: run `make pipeline` first (the benchmark sends held-out rows)")
    rows = frame.head(200).to_dict(orient="records")
    instance = rows[0]
    expected = float(pipeline.predict_proba(frame.head(1))[0, 1])

    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_at_start": os.getloadavg()},
        "model": {"sha256": record.sha256, "estimator": record.estimator, "features": record.features},
        "settings": {"duration_s": args.duration, "single_s": args.single_seconds, "workers": args.workers},
    }
    with tempfile.TemporaryDirectory(prefix="lighthouse-bench-") as tmp:
        work = Path(tmp)
        print("creating the serving-only environment ...", flush=True)
        report["environment"] = serving_env(work / "serve-venv")
        report["environment"]["full_mb"] = tree_size(VENV_BIN.parent) / 2**20
        print("measuring in-process prediction cost ...", flush=True)
        report["in_process_one_row_ms"] = in_process(args.model_dir, frame, rows, args.repeat)
        mlflow_model = save_mlflow_model(pipeline, frame.head(50), work / "mlflow-model")
        servers = [
            ours(args.model_dir, work / "serve-venv" / "bin" / "python", args.workers),
            mlflow_server(mlflow_model, args.workers, one_thread=False),
            mlflow_server(mlflow_model, args.workers, one_thread=True),
        ]
        report["servers"] = []
        for server in servers:
            print(f"measuring {server.name} ...", flush=True)
            report["servers"].append(measure(server, instance, expected, args, work / f"{server.port}.log"))
    ours_result, *mlflow_results = report["servers"]
    report["ratios"] = {
        f"throughput_c{c}_vs_{'tuned_' if i else ''}mlflow": ours_result[f"c{c}"]["rps"] / m[f"c{c}"]["rps"]
        for i, m in enumerate(mlflow_results)
        for c in CONCURRENCY
    }
    report["machine"]["load_avg_at_end"] = os.getloadavg()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(report))
    print("throughput ratios: " + ", ".join(f"{name} {ratio:.1f}x" for name, ratio in report["ratios"].items()))
    machine = report["machine"]
    print(f"load average (1, 5, 15 min): at start {machine['load_avg_at_start']}, at end {machine['load_avg_at_end']}")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
