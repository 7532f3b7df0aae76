"""Benchmark: what inference logging (sample rate 1.0, every request logged) costs the server's /predict.

Two measurements, each with the log off and on, interleaved in rounds so that a shared machine's drift hits both:
- in-process: the ASGI application as `python -m model.serve` builds it (`server_app`), called directly with one
  one-instance /predict request at a time (no sockets): the per-request cost of the hook, the queue put, and the
  writer thread competing for the interpreter;
- real server processes: one request at a time (p50 / p99) and 8 concurrent keep-alive clients (throughput,
  p99), with the client of benchmarks/serve.py.
Every loop is bounded in count and in time. Writes benchmarks/results/serve_inference_log.json, prints a table.

    .venv/bin/python benchmarks/serve_inference_log.py [--model-dir models] [--rounds 5] [--duration 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serve_inference_log.json"
MODES = ("off", "on")


def held_out_row(model_dir: Path) -> dict[str, Any]:
    import pandas as pd

    from model.core import artifact

    record = artifact.read_record(model_dir)
    split = ROOT / "data" / "split" / "test.parquet"
    if not split.exists():
        raise SystemExit(f"{split}: run `make pipeline` first (the benchmark sends a held-out row)")
    row: dict[str, Any] = pd.read_parquet(split)[record.features].head(1).to_dict(orient="records")[0]
    return row


def in_process(model_dir: Path, row: dict[str, Any], rounds: int, calls: int, log_dir: Path) -> dict[str, Any]:
    """Median microseconds per /predict call through the ASGI app, per mode, over `rounds` interleaved rounds."""
    from model.serve.config import Settings
    from model.serve.inference_log import InferenceLogConfig
    from model.serve.server import server_app
    from model.serve.service import ModelService

    service = ModelService.load(model_dir, threads=1)
    settings = Settings(model_dir=model_dir, log_level="warning")
    apps = {
        "off": server_app(settings, service, InferenceLogConfig(None)),
        "on": server_app(settings, service, InferenceLogConfig(log_dir, sample_rate=1.0)),
    }
    body = json.dumps({"instances": [row]}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/predict",
        "raw_path": b"/predict",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8080),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def run(app: Any, n: int) -> float:
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        start = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), receive, send)
        elapsed = time.perf_counter() - start
        assert set(statuses) == {200}, statuses[:5]
        return elapsed / n * 1e6

    async def measure() -> dict[str, list[float]]:
        per_call: dict[str, list[float]] = {mode: [] for mode in MODES}
        for mode in MODES:
            await run(apps[mode], calls // 5)  # warm up
        for _ in range(rounds):
            for mode in MODES:
                per_call[mode].append(await run(apps[mode], calls))
        return per_call

    import uvloop

    per_call = uvloop.run(measure())
    time.sleep(2)  # let the writer catch up: every call should be a line (none dropped for a full queue)
    result: dict[str, Any] = {mode: statistics.median(values) for mode, values in per_call.items()}
    result["rounds_us"] = per_call
    result["overhead_us"] = result["on"] - result["off"]
    result["logged_calls"] = calls // 5 + rounds * calls
    result["written_lines"] = sum(1 for path in log_dir.glob("*.jsonl*") for _ in path.open("rb"))
    return result


def processes(model_dir: Path, row: dict[str, Any], rounds: int, duration: float, work: Path) -> dict[str, Any]:
    """Real server processes, log off and on, one at a time: single-request latency, 8-client throughput."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.serve import WARMUP_SECONDS, ours, pct, request_bytes, run_load

    results: dict[str, dict[str, list[float]]] = {
        mode: {"p50": [], "p99": [], "rps": [], "c8_p99": []} for mode in MODES
    }
    for number in range(rounds):
        for mode in MODES:
            server = ours(model_dir, Path(sys.executable), workers=1)
            server.env["LOG_LEVEL"] = "warning"  # the access log is not what is measured here
            if mode == "on":
                server.env.update(INFERENCE_LOG_DIR=str(work / f"log-{number}"), INFERENCE_LOG_SAMPLE_RATE="1")
            server.start(work / f"{mode}-{number}.log")
            try:
                request = request_bytes(server, row)
                run_load(server.port, request, 1, WARMUP_SECONDS)
                latencies, errors, _ = run_load(server.port, request, 1, duration)
                assert not errors, errors[:5]
                results[mode]["p50"].append(pct(latencies, 50))
                results[mode]["p99"].append(pct(latencies, 99))
                latencies, errors, elapsed = run_load(server.port, request, 8, duration)
                assert not errors, errors[:5]
                results[mode]["rps"].append(len(latencies) / elapsed)
                results[mode]["c8_p99"].append(pct(latencies, 99))
            finally:
                server.stop()
    summary: dict[str, Any] = {
        mode: {key: statistics.median(values) for key, values in measured.items()} for mode, measured in results.items()
    }
    summary["rounds"] = results
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved off/on rounds per measurement")
    parser.add_argument("--calls", type=int, default=5000, help="in-process calls per round and mode")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of load per server measurement")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    row = held_out_row(args.model_dir)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_at_start": os.getloadavg()},
        "settings": {"rounds": args.rounds, "calls": args.calls, "duration_s": args.duration, "sample_rate": 1.0},
    }
    with tempfile.TemporaryDirectory(prefix="lighthouse-log-bench-") as tmp:
        work = Path(tmp)
        print("in-process /predict, log off and on ...", flush=True)
        report["in_process_us"] = in_process(args.model_dir, row, args.rounds, args.calls, work / "in-process")
        print("server processes, log off and on ...", flush=True)
        report["server"] = processes(args.model_dir, row, args.rounds, args.duration, work)
    report["machine"]["load_avg_at_end"] = os.getloadavg()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    cost, server = report["in_process_us"], report["server"]
    print()
    print("| inference log (sample 1.0) | off | on | difference |")
    print("|---|---|---|---|")
    print(f"| in-process /predict, µs per call | {cost['off']:.1f} | {cost['on']:.1f} | {cost['overhead_us']:+.1f} |")
    for key, label, unit in (
        ("p50", "one at a time, p50", "ms"),
        ("p99", "one at a time, p99", "ms"),
        ("rps", "8 clients, throughput", "req/s"),
        ("c8_p99", "8 clients, p99", "ms"),
    ):
        off, on = server["off"][key], server["on"][key]
        print(f"| {label} ({unit}) | {off:.3g} | {on:.3g} | {100 * (on - off) / off:+.1f}% |")
    print(f"in-process: {cost['written_lines']} of {cost['logged_calls']} logged calls written (the rest dropped)")
    print(f"medians of {args.rounds} interleaved rounds; machine {report['machine']}")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
