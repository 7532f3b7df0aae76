"""Benchmark the inference log and the drift monitor on 10k and 1M logged rows.

Rows are resampled from the held-out split, scored by the pipeline's model and written through the real
InferenceLogger (requests of 10 instances), exactly as the server would log them. Then `python -m model.monitor`
runs on the log directory (JSON lines) and on the same rows as one Parquet file, each in its own process: wall
time and peak RSS (getrusage of that process). Also the cost of one `log()` call as the server pays it.

Needs the pipeline's outputs (`make pipeline`). Run: `.venv/bin/python benchmarks/monitor.py [--sizes 10000 1000000]`.
Prints a table and writes benchmarks/results/monitor.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.core import artifact, paths  # noqa: E402
from model.core.contract import load_contract  # noqa: E402
from model.core.dataset import features  # noqa: E402
from model.serve.inference_log import InferenceLogConfig, InferenceLogger  # noqa: E402

REQUEST_SIZE = 10
RESULTS = ROOT / "benchmarks" / "results" / "monitor.json"
#: Runs a command and reports its wall time and peak RSS (this wrapper's only child is the command).
MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "seconds = time.perf_counter() - start\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'exit_code': code, 'seconds': seconds, 'peak_rss_mib': rss / 1024}))\n"
)


def resampled(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    contract = load_contract(ROOT / paths.CONTRACT)
    test = pd.read_parquet(ROOT / paths.TEST_SPLIT)
    frame = test.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    model, _ = artifact.load_verified(ROOT / paths.MODEL_DIR)
    scores = model.predict_proba(features(frame, contract))[:, 1]
    return features(frame, contract), scores


def write_logs(frame: pd.DataFrame, scores: np.ndarray, directory: Path) -> dict[str, Any]:
    """Log `frame` through the real logger; return what one `log()` call cost."""
    config = InferenceLogConfig(directory, max_queue=100_000, max_bytes=64 << 20, max_files=100_000)
    records = frame.to_dict(orient="records")
    probabilities = scores.tolist()
    # A million request dicts held by this harness would make each full garbage collection scan them (and stall
    # one log() call for ~0.4 s); a server holds only its in-flight requests. Keep them out of the collector.
    gc.collect()
    gc.freeze()
    costs = np.empty(-(-len(records) // REQUEST_SIZE), dtype=np.int64)
    logger = InferenceLogger(config, registry=CollectorRegistry())
    started = time.perf_counter()
    for call, start in enumerate(range(0, len(records), REQUEST_SIZE)):
        instances, batch_scores = records[start : start + REQUEST_SIZE], probabilities[start : start + REQUEST_SIZE]
        before = time.perf_counter_ns()
        logger.log(instances, batch_scores, "1", request_id=str(call))
        costs[call] = time.perf_counter_ns() - before
    enqueued = time.perf_counter() - started
    logger.close(timeout=600)
    written = time.perf_counter() - started
    gc.unfreeze()
    size = sum(p.stat().st_size for p in directory.glob("*.jsonl"))
    return {
        "log_calls": int(costs.size),
        "log_call_us_p50": float(np.percentile(costs, 50) / 1000),
        "log_call_us_p99": float(np.percentile(costs, 99) / 1000),
        "log_call_us_p999": float(np.percentile(costs, 99.9) / 1000),
        "log_call_us_max": float(costs.max() / 1000),
        "enqueue_seconds": enqueued,
        "written_seconds": written,
        "records_per_second_written": len(records) / written,
        "log_mib": size / (1 << 20),
    }


def as_parquet(directory: Path, target: Path) -> None:
    """The same records as one Parquet file (the monitor reads *.parquet in a log directory too)."""
    import pyarrow as pa
    from pyarrow import json as pa_json
    from pyarrow import parquet as pq

    tables = [pa_json.read_json(path).flatten() for path in sorted(directory.glob("*.jsonl"))]
    table = pa.concat_tables(tables)
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table.rename_columns([c.removeprefix("instance.") for c in table.column_names]), target / "logs.parquet"
    )


def measure_monitor(log_dir: Path, out: Path) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "model.monitor", "--logs", str(log_dir),
        "--out", str(out / "drift.json"), "--markdown", str(out / "drift.md"), "--plots", str(out / "drift"),
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], cwd=ROOT, capture_output=True, text=True, check=True
    )
    measured: dict[str, Any] = json.loads(result.stdout)
    measured["status"] = json.loads((out / "drift.json").read_text())["status"]
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "request_size": REQUEST_SIZE,
        "runs": [],
    }
    for rows in args.sizes:
        with tempfile.TemporaryDirectory(prefix="lighthouse-bench-") as tmp:
            work = Path(tmp)
            frame, scores = resampled(rows)
            logging = write_logs(frame, scores, work / "logs")
            jsonl = measure_monitor(work / "logs", work / "out-jsonl")
            as_parquet(work / "logs", work / "parquet")
            parquet = measure_monitor(work / "parquet", work / "out-parquet")
        run = {"rows": rows, "logger": logging, "monitor_jsonl": jsonl, "monitor_parquet": parquet}
        results["runs"].append(run)
        print(json.dumps(run), file=sys.stderr)

    header = (
        f"{'rows':>9} | {'log() p50/p99/p99.9/max us':>30} | {'log MiB':>7} | "
        f"{'monitor JSONL s / MiB':>22} | {'monitor Parquet s / MiB':>24} | status"
    )
    print(header)
    print("-" * len(header))
    for run in results["runs"]:
        lg, js, pq = run["logger"], run["monitor_jsonl"], run["monitor_parquet"]
        print(
            f"{run['rows']:>9} | "
            f"{lg['log_call_us_p50']:>6.1f} /{lg['log_call_us_p99']:>6.1f} /{lg['log_call_us_p999']:>6.1f} /"
            f"{lg['log_call_us_max']:>7.0f} | "
            f"{lg['log_mib']:>7.1f} | {js['seconds']:>10.1f} / {js['peak_rss_mib']:>9.0f} | "
            f"{pq['seconds']:>11.1f} / {pq['peak_rss_mib']:>10.0f} | {js['status']}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
