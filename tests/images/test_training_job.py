"""The training image as the cluster runs it, against real servers: PostgreSQL (Debian's), `mlflow server` on it
with artifacts in an S3-compatible store (SeaweedFS), and the DVC remote in the same store. The container gets
only environment variables, a read-only root and a /tmp tmpfs, as in k8s/training/.

First run: the pipeline runs, the MLflow run and the registered version (alias `challenger`) are on the server, the
model in its artifact bucket, every DVC-cached output and the run cache on the remote. Second run, in a fresh
container: the stages DVC can restore from the remote's run cache (ingest, split, train: every output DVC-cached)
are restored, not recomputed; the same model is registered once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from model.core.tracking import MODEL_SHA256_TAG
from tests.images import services
from tests.images.conftest import TIMINGS, BuiltImage
from tests.images.engine import Engine
from tests.pipeline_project import ROOT, copy_project, dvc, project_env, stages_run

pytestmark = pytest.mark.slow

DVC_BUCKET, MLFLOW_BUCKET = "lighthouse-dvc", "lighthouse-mlflow"
DVC_PREFIX = "pipeline"
JOB_TIMEOUT = 1800
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Stack:
    store: services.ObjectStore
    tracking_uri: str


@dataclass(frozen=True)
class JobRun:
    result: subprocess.CompletedProcess[str]
    summary: dict[str, Any]
    seconds: float


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log = tmp_path_factory.mktemp("mlflow") / "server.log"
    started = time.monotonic()
    with (
        services.postgres() as database,
        services.seaweedfs((DVC_BUCKET, MLFLOW_BUCKET)) as store,
        services.mlflow_server(database, store, f"s3://{MLFLOW_BUCKET}/artifacts", log) as tracking_uri,
    ):
        TIMINGS["PostgreSQL + SeaweedFS + mlflow server start"] = time.monotonic() - started
        yield Stack(store, tracking_uri)


def run_job(engine: Engine, image: BuiltImage, stack: Stack, label: str) -> JobRun:
    env = {
        "DVC_REMOTE_URL": f"s3://{DVC_BUCKET}/{DVC_PREFIX}",
        "MLFLOW_TRACKING_URI": stack.tracking_uri,
        **stack.store.env(),
    }
    started = time.monotonic()
    result = engine.run(image.tag, env, timeout=JOB_TIMEOUT)
    seconds = time.monotonic() - started
    TIMINGS[f"training job, {label}"] = seconds
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-4000:]}"
    return JobRun(result, json.loads(result.stdout.strip().splitlines()[-1]), seconds)


@pytest.fixture(scope="module")
def first(engine: Engine, training_image: BuiltImage, stack: Stack) -> JobRun:
    return run_job(engine, training_image, stack, "first run")


@pytest.fixture(scope="module")
def second(engine: Engine, training_image: BuiltImage, stack: Stack, first: JobRun) -> JobRun:
    return run_job(engine, training_image, stack, "second run (pulls)")


def client(stack: Stack) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=stack.tracking_uri)


def test_the_first_run_trains_tracks_and_registers_on_the_server(
    first: JobRun, stack: Stack, training_image: BuiltImage
) -> None:
    summary = first.summary
    assert "train" in summary["stages_run"]
    assert summary["gates"] is True
    assert summary["git_sha"] == training_image.build_args["GIT_SHA"], "the model records the image's commit"
    run = client(stack).get_run(summary["mlflow_run_id"])
    assert run.data.tags["git_sha"] == training_image.build_args["GIT_SHA"]
    assert run.data.tags["data_hash"] == summary["data_hash"]
    assert run.data.metrics, "evaluation metrics were logged to the server"
    registration = summary["registration"]
    assert registration["tracking"] == "server"
    version = client(stack).get_model_version_by_alias(PARAMS["tracking"]["registered_model"], "challenger")
    assert version.version == registration["version"]
    assert version.run_id == run.info.run_id
    assert version.tags[MODEL_SHA256_TAG] == summary["model_sha256"]


def test_the_model_is_in_the_artifact_bucket(first: JobRun, stack: Stack) -> None:
    keys = stack.store.keys(MLFLOW_BUCKET, "artifacts/")
    assert any(key.endswith("/MLmodel") for key in keys), keys[:20]
    assert any(key.endswith(".skops") for key in keys), "the model itself, serialised with skops"


def test_every_cached_output_and_the_run_cache_are_on_the_dvc_remote(first: JobRun, stack: Stack) -> None:
    keys = set(stack.store.keys(DVC_BUCKET, f"{DVC_PREFIX}/"))
    pushed = first.summary["pushed"]
    assert "models/model.skops" in pushed
    assert "data/raw.csv" in pushed
    for path, md5 in pushed.items():
        name = md5.removesuffix(".dir")
        object_key = f"{DVC_PREFIX}/files/md5/{name[:2]}/{name[2:]}" + (".dir" if md5.endswith(".dir") else "")
        assert object_key in keys, f"{path} ({md5}) is not on the remote"
    assert any(key.startswith(f"{DVC_PREFIX}/runs/") for key in keys), "the run cache was pushed"


def run_cached_stages() -> set[str]:
    """The stages DVC 3 can restore from the run cache: every output DVC-cached. A stage with a `cache: false`
    output (kept in git: reports, metrics) is never run-cached (treeverse/dvc#8738), so it runs again unless a
    dvc.lock describing it is present; `register`'s persisted output is never run-cached either."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    cached = set()
    for name, stage in stages.items():
        outs = [*stage.get("outs", []), *stage.get("metrics", []), *stage.get("plots", [])]
        flags = [next(iter(out.values())) if isinstance(out, dict) else {} for out in outs]
        if outs and all(f.get("cache", True) and not f.get("persist", False) for f in flags):
            cached.add(name)
    return cached


def test_a_second_run_pulls_instead_of_recomputing(first: JobRun, second: JobRun, stack: Stack) -> None:
    restorable = run_cached_stages()
    assert "train" in restorable
    assert restorable <= set(first.summary["stages_run"]), "the first run computed them"
    assert not restorable & set(second.summary["stages_run"]), second.summary["stages_run"]
    assert second.summary["model_sha256"] == first.summary["model_sha256"]
    assert second.summary["mlflow_run_id"] == first.summary["mlflow_run_id"]
    assert second.summary["registration"]["version"] == first.summary["registration"]["version"]
    name = PARAMS["tracking"]["registered_model"]
    assert len(client(stack).search_model_versions(f"name = '{name}'")) == 1, "no duplicate version"
    experiment = client(stack).get_experiment_by_name(PARAMS["tracking"]["experiment"])
    assert len(client(stack).search_runs([experiment.experiment_id])) == 1, "no second training run"


def test_the_pr_gates_judge_the_jobs_outputs_without_recomputing(
    first: JobRun, second: JobRun, stack: Stack, tmp_path: Path
) -> None:
    """What train-cluster.yml does after the Job: `make cluster-results` in a fresh checkout restores the stages
    from the remote's run cache, `python -m ci.train_job --verify` proves it is the job's model, the gates pass."""
    project = copy_project(tmp_path / "checkout")
    env = {**stack.store.env(), "DVC_REMOTE_URL": f"s3://{DVC_BUCKET}/{DVC_PREFIX}"}
    remote = ["remote", "modify", "--local", "ci", "endpointurl", stack.store.endpoint]
    dvc(project, "remote", "add", "--local", "--default", "ci", env["DVC_REMOTE_URL"], **env)
    dvc(project, *remote, **env)
    dvc(project, "pull", "--run-cache", "--allow-missing", **env)
    restored = dvc(project, "repro", "--pull", "report", "monitor_reference", **env)
    assert not run_cached_stages() & set(stages_run(restored.stdout)), restored.stdout[-3000:]
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps(first.summary))
    for command in (["ci.train_job", "--verify", str(summary)], ["ci.gates"]):
        result = subprocess.run(
            [sys.executable, "-m", *command], cwd=project, env=project_env(), capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr


def test_without_a_remote_the_job_refuses_to_start(engine: Engine, training_image: BuiltImage) -> None:
    result = engine.run(training_image.tag, {}, timeout=300)
    assert result.returncode == 2
    assert "DVC_REMOTE_URL is not set" in result.stderr


def test_the_job_runs_as_a_non_root_user(engine: Engine, training_image: BuiltImage) -> None:
    result = engine.run(training_image.tag, {}, entrypoint="id", args=["-u"], timeout=120)
    assert result.stdout.strip() == "10001"
