"""`python -m ci.train_job`: the containerised training job (the training image's entrypoint, Dockerfile.train).

The same steps run on a laptop (`podman run`/`docker run`), in CI and on the cluster (k8s/training/), configured
only by the environment:

- `DVC_REMOTE_URL`: the DVC remote (`s3://bucket/prefix`, or any DVC remote URL); required.
- `AWS_ENDPOINT_URL`: an S3-compatible endpoint instead of AWS (MinIO, SeaweedFS, Ceph RGW...).
- S3 credentials, the usual AWS chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, or workload identity
  (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`, which IRSA injects).
- `MLFLOW_TRACKING_URI` (+ `MLFLOW_TRACKING_USERNAME`/`PASSWORD`/`TOKEN`): the tracking server; without it the
  run is tracked in a sqlite file that dies with the container (a warning says so).
- `WORKSPACE`: a writable directory (default `/tmp/workspace`: the image's root filesystem is read-only).

What it does, as `make repro` with `DVC_PUSH=1` does on main: copy the project snapshot baked into the image (a
checkout's pipeline files, without dvc.lock: see Dockerfile.train.dockerignore) to the workspace, pull the remote's
run cache, `dvc repro --pull` (a stage whose inputs match an earlier run anywhere
is restored, not recomputed), then `dvc push --run-cache`, so the outputs and the run cache are on the remote for
the next run and for the PR's gates. The last line printed is a JSON summary (stages run, model, registration).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from model.core import paths
from model.core.io import read_json

#: The project snapshot baked into the image: the repository root this package lives in.
PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_WORKSPACE = Path("/tmp/workspace")  # noqa: S108 (a container's own tmpfs, one job per container)
REMOTE = "job"


class JobError(RuntimeError):
    """A configuration or step failure; the message says which and how to fix it."""


def dvc(workspace: Path, *args: str) -> str:
    """Run `dvc ...` in the workspace, streaming its output, and return it; JobError when it fails."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dvc", *args],
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    if process.wait() != 0:
        raise JobError(f"dvc {' '.join(args)} failed with exit code {process.returncode}")
    return "".join(lines)


def prepare(workspace: Path, remote_url: str, endpoint: str | None) -> None:
    """Copy the snapshot into the workspace and point DVC at the remote (no git repository: DVC without SCM)."""
    if workspace.exists() and any(workspace.iterdir()):
        raise JobError(f"WORKSPACE {workspace} is not empty: give each run a fresh directory")
    shutil.copytree(PROJECT, workspace, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    dvc(workspace, "config", "--local", "core.no_scm", "true")
    # DVC's default site cache is under /var/tmp, which a read-only root filesystem does not have.
    dvc(workspace, "config", "--local", "core.site_cache_dir", str(workspace / ".dvc" / "tmp" / "site"))
    dvc(workspace, "remote", "add", "--local", "--force", "--default", REMOTE, remote_url)
    if endpoint:
        dvc(workspace, "remote", "modify", "--local", REMOTE, "endpointurl", endpoint)


def summary(workspace: Path, repro_output: str) -> dict[str, Any]:
    record = read_json(workspace / paths.MODEL_RECORD)
    registration_path = workspace / paths.REGISTRATION
    registration = read_json(registration_path) if registration_path.exists() else None
    lock = yaml.safe_load((workspace / "dvc.lock").read_text(encoding="utf-8"))
    pushed = {
        out["path"]: out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if (workspace / out["path"]).exists() and not _uncached(workspace, out["path"])
    }
    return {
        "pushed": pushed,
        "stages_run": re.findall(r"Running stage '([^']+)'", repro_output),
        "git_sha": record.get("git_sha"),
        "data_hash": record.get("data_hash"),
        "model_sha256": record.get("sha256"),
        "mlflow_run_id": record.get("mlflow_run_id"),
        "registration": registration,
        "gates": read_json(workspace / paths.GATES_REPORT).get("passed"),
    }


def _uncached(workspace: Path, path: str) -> bool:
    """Whether dvc.yaml declares the output `cache: false` (kept in git, never pushed)."""
    stages = yaml.safe_load((workspace / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for stage in stages.values():
        for out in [*stage.get("outs", []), *stage.get("metrics", []), *stage.get("plots", [])]:
            if isinstance(out, dict) and path in out:
                return out[path].get("cache", True) is False
    return False


def verify(summary_path: Path, project: Path) -> int:
    """Whether the outputs restored in `project` are the model the job trained (same artifact, data and commit):
    what the dispatching workflow checks before the gates judge them."""
    expected = json.loads(summary_path.read_text(encoding="utf-8").strip().splitlines()[-1])
    record = read_json(project / paths.MODEL_RECORD)
    fields = {"model_sha256": "sha256", "data_hash": "data_hash", "git_sha": "git_sha"}
    wrong = [f"{key}: job {expected.get(key)!r}, restored {record.get(field)!r}" for key, field in fields.items()
             if expected.get(key) != record.get(field)]  # fmt: skip
    if wrong:
        print(f"train_job: the restored outputs are not the job's: {'; '.join(wrong)}", file=sys.stderr)
        return 1
    print(f"train_job: restored the job's model {record['sha256'][:12]} (data {record['data_hash']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.train_job", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--verify", type=Path, metavar="SUMMARY", help="check the outputs here against a job's summary, and exit"
    )
    args = parser.parse_args(argv)
    if args.verify:
        return verify(args.verify, Path.cwd())
    remote_url = os.environ.get("DVC_REMOTE_URL", "")
    workspace = Path(os.environ.get("WORKSPACE") or DEFAULT_WORKSPACE)
    if not remote_url:
        print("train_job: DVC_REMOTE_URL is not set: the job's outputs would die with the container", file=sys.stderr)
        return 2
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        print("train_job: warning: MLFLOW_TRACKING_URI is not set; tracking into the workspace's sqlite file, "
              "which is lost when the container ends", file=sys.stderr)  # fmt: skip
    try:
        prepare(workspace, remote_url, os.environ.get("AWS_ENDPOINT_URL"))
        # What is missing on the remote (a first run) is computed; the rest comes from it.
        dvc(workspace, "pull", "--run-cache", "--allow-missing")
        output = dvc(workspace, "repro", "--pull")
        dvc(workspace, "push", "--run-cache")
    except (JobError, OSError) as exc:
        print(f"train_job: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary(workspace, output), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
