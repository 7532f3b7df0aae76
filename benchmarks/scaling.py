"""How far one machine goes: a cold `dvc repro` of the whole pipeline on the example resampled to 1M, 5M and 10M
rows, with the wall time and peak RSS of every stage. Each size runs in a throw-away copy of the project (its own
git repo, DVC cache and MLflow sqlite store), so the working tree is untouched. Writes
benchmarks/results/scaling.json; docs/scaling.md quotes it.

    .venv/bin/python -m benchmarks.scaling [--rows 1000000 5000000 10000000]

Every stage's command is wrapped in benchmarks/stage_probe.py (wall time, peak RSS of its process tree); the
total includes DVC's own work between stages (hashing the outputs, which grows with the data).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from tests.pipeline_project import PIPELINE_FILES, copy_project, project_env

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scaling.json"
DEFAULT_ROWS = (1_000_000, 5_000_000, 10_000_000)


def prepare(project: Path, rows: int, probe_log: Path) -> None:
    """Point ingest at the resampling loader and wrap every stage's command in the probe."""
    params_path = project / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    ingest = params["ingest"]
    params["ingest"] = {
        "loader": "benchmarks.resampled:load",
        "loader_kwargs": {"rows": rows, "loader": ingest["loader"], "loader_kwargs": ingest.get("loader_kwargs", {})},
    }
    # Resampled rows repeat across the split, so the gates' verdicts mean nothing here: every gate still runs (and
    # costs what it costs) but reports without blocking, so the stages after it run too.
    params["gates"]["advisory"] = sorted({gate.family for gate in _plan(project)})
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    dvc_path = project / "dvc.yaml"
    pipeline = yaml.safe_load(dvc_path.read_text())
    for name, stage in pipeline["stages"].items():
        stage["cmd"] = f"python -m benchmarks.stage_probe {probe_log} {name} -- {stage['cmd']}"
    dvc_path.write_text(yaml.safe_dump(pipeline, sort_keys=False))


def _plan(project: Path) -> list[Any]:
    from ci.gate_plan import build_plan
    from model.core.contract import load_contract
    from model.core.params import load_params

    params_path = project / "params.yaml"
    return build_plan(load_params(params_path), load_contract(project / "data" / "contract.yaml"), params_path)


def run_size(rows: int, scratch: Path) -> dict[str, Any]:
    project = copy_project(scratch / f"project-{rows}", (*PIPELINE_FILES, "benchmarks"))
    probe_log = scratch / f"probe-{rows}.jsonl"
    prepare(project, rows, probe_log)
    dvc = str(Path(sys.executable).parent / "dvc")
    start = time.perf_counter()
    result = subprocess.run([dvc, "repro"], cwd=project, env=project_env(), capture_output=True, text=True)
    total = time.perf_counter() - start
    stages = [json.loads(line) for line in probe_log.read_text().splitlines()] if probe_log.exists() else []
    raw = project / "data" / "raw.csv"
    return {
        "rows": rows,
        "ok": result.returncode == 0,
        "total_seconds": round(total, 1),
        "stage_seconds_sum": round(sum(s["seconds"] for s in stages), 1),
        "peak_rss_mb": max((s["peak_rss_mb"] for s in stages), default=None),
        "raw_csv_mb": round(raw.stat().st_size / 2**20, 1) if raw.exists() else None,
        "stages": stages,
        "error": None if result.returncode == 0 else (result.stdout + result.stderr)[-3000:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    args = parser.parse_args()
    results = []
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="lighthouse-scaling-") as tmp:
            outcome = run_size(rows, Path(tmp))
        results.append(outcome)
        print(
            f"{rows:>10,} rows: {'ok' if outcome['ok'] else 'FAILED'} in {outcome['total_seconds']:.0f} s, "
            f"peak RSS {outcome['peak_rss_mb']} MB",
            flush=True,
        )
        for stage in outcome["stages"]:
            print(f"    {stage['stage']:<18}{stage['seconds']:>9.1f} s{stage['peak_rss_mb']:>10.0f} MB", flush=True)
        if not outcome["ok"]:
            print(outcome["error"], file=sys.stderr)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"cores": _cores(), "runs": results}, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0 if all(r["ok"] for r in results) else 1


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
