"""Benchmark the pipeline: cold `dvc repro` (total and per stage) and no-op `dvc repro`, in a throw-away copy of
the project so the working tree is untouched. Prints a table and writes benchmarks/results/pipeline.json.

    .venv/bin/python -m benchmarks.pipeline [--noop-runs 5]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.pipeline_project import copy_project, project_env

RESULTS = Path(__file__).parent / "results" / "pipeline.json"


def timed_repro(project: Path) -> tuple[float, dict[str, float]]:
    """Run `dvc repro`, timing each stage from its 'Running stage' line to the next stage's (or the end)."""
    dvc = str(Path(sys.executable).parent / "dvc")
    start = time.perf_counter()
    marks: list[tuple[str, float]] = []
    with subprocess.Popen(
        [dvc, "repro"], cwd=project, env=project_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            match = re.match(r"Running stage '([^']+)'", line)
            if match:
                marks.append((match.group(1), time.perf_counter()))
    total = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"dvc repro failed with exit code {process.returncode}")
    ends = [t for _, t in marks[1:]] + [start + total] if marks else []
    return total, {name: end - begin for (name, begin), end in zip(marks, ends, strict=True)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noop-runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lighthouse-bench-") as tmp:
        project = copy_project(Path(tmp) / "project")
        cold, stages = timed_repro(project)
        noop = [timed_repro(project)[0] for _ in range(args.noop_runs)]
    result = {
        "cold_seconds": round(cold, 2),
        "stage_seconds": {k: round(v, 2) for k, v in stages.items()},
        "noop_seconds": {
            "median": round(statistics.median(noop), 3),
            "min": round(min(noop), 3),
            "max": round(max(noop), 3),
            "runs": len(noop),
        },
        "goals": {"cold_under_seconds": 60, "noop_under_seconds": 2},
    }
    print(f"{'what':<24}{'seconds':>10}")
    print(f"{'cold dvc repro':<24}{cold:>10.2f}")
    for name, seconds in stages.items():
        print(f"  {name:<22}{seconds:>10.2f}")
    print(f"{'no-op dvc repro (median)':<24}{statistics.median(noop):>10.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
