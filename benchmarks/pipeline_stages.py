"""Wall time of each pipeline stage on the example data, in a scratch copy of the project (the working tree,
its DVC outputs and its MLflow store are left alone).

    .venv/bin/python benchmarks/pipeline_stages.py

Copies dvc.yaml, params.yaml, the contract, model/, ci/, tests/gates/ and the production overlay into a temporary
git + DVC repository, then runs `dvc repro --single-item <stage>` for each stage in pipeline order, timing each
(so every figure includes DVC's own start-up, ~0.6 s for a no-op). Prints a table; writes
benchmarks/results/pipeline_stages.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pipeline_stages.json"
COPIED = (
    "dvc.yaml",
    "params.yaml",
    "pyproject.toml",
    "data/contract.yaml",
    "model",
    "ci",
    "tests/__init__.py",
    "tests/gates",
    "k8s/overlays/production",
)


def main() -> int:
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "LIGHTHOUSE_"))}
    env.update(PATH=f"{bin_dir}:{env.get('PATH', '')}", DVC_NO_ANALYTICS="1", MLFLOW_DISABLE_TELEMETRY="true")
    stages = list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])
    timings = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name in COPIED:
            source, target = ROOT / name, root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source, target)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        for command in (["git", "init", "-q"], [*git, "add", "-A"], [*git, "commit", "-qm", "bench"]):
            subprocess.run(command, cwd=root, check=True, env=env)
        subprocess.run([str(bin_dir / "dvc"), "init", "-q"], cwd=root, check=True, env=env)
        for stage in stages:
            start = time.perf_counter()
            result = subprocess.run(
                [str(bin_dir / "dvc"), "repro", "--single-item", stage],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - start
            if result.returncode != 0:
                print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
                return 1
            timings.append({"stage": stage, "seconds": round(seconds, 2)})
            print(f"{stage:<10} {seconds:6.2f} s", flush=True)
    total = sum(t["seconds"] for t in timings)
    print(f"{'total':<10} {total:6.2f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"load": os.getloadavg(), "cpus": os.cpu_count(), "stages": timings, "total": total}, indent=2)
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
