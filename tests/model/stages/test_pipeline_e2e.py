"""The real pipeline, end to end, in a throw-away copy of the project: `dvc repro` cold, again (no-op), after a
hyper-parameter change, and with bad data. Slow (one cold run, then cheap copies of the built project)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.pipeline_project import clone_built, dvc, git, stages_run

pytestmark = pytest.mark.slow


def _registry(project: Path):  # type: ignore[no-untyped-def]
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")


def _versions(project: Path, name: str) -> list[str]:
    return sorted(v.version for v in _registry(project).search_model_versions(f"name = '{name}'"))


def _params(project: Path) -> dict:
    return yaml.safe_load((project / "params.yaml").read_text())


def test_cold_run_writes_every_output(built: Path) -> None:
    metrics = json.loads((built / "reports/metrics.json").read_text())
    expected = {"roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss", "brier"}
    assert expected <= set(metrics)
    assert 0.5 < metrics["roc_auc"] <= 1.0
    for plot in ("roc", "precision_recall", "calibration"):
        assert json.loads((built / f"reports/plots/{plot}.json").read_text())
    assert json.loads((built / "reports/validation.json").read_text())["success"] is True
    assert (built / "models/model.skops").stat().st_size > 0
    assert json.loads((built / "models/registration.json").read_text())["version"] == "1"


def test_second_run_reruns_nothing(built: Path) -> None:
    project = clone_built(built, built.parent / "noop")
    result = dvc(project, "repro")
    assert stages_run(result.stdout) == []
    assert "up to date" in dvc(project, "status").stdout


def test_hyperparameter_change_reruns_train_and_after_only(built: Path) -> None:
    project = clone_built(built, built.parent / "hparam")
    params = _params(project)
    estimator = params["train"]["estimator"]
    first_key = next(iter(params["train"][estimator]))
    value = params["train"][estimator][first_key]
    params["train"][estimator][first_key] = value * 2 if isinstance(value, int | float) else value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    ran = stages_run(dvc(project, "repro").stdout)
    assert ran[0] == "train"
    assert not {"ingest", "validate", "split"} & set(ran)
    assert "evaluate" in ran
    assert {"fairness", "explain", "gates", "register", "report"} <= set(ran)
    assert ran.index("gates") < ran.index("register")  # only a model that passed the gates is registered


def test_mlflow_run_has_params_metrics_data_hash_and_git_sha(built: Path) -> None:
    record = json.loads((built / "models/model.json").read_text())
    run = _registry(built).get_run(record["mlflow_run_id"])
    params = _params(built)
    estimator = params["train"]["estimator"]
    assert run.data.params["estimator"] == estimator
    for key, value in params["train"][estimator].items():
        assert run.data.params[key] == str(value)
    assert run.data.metrics["test_roc_auc"] == pytest.approx(
        json.loads((built / "reports/metrics.json").read_text())["roc_auc"]
    )
    lock = yaml.safe_load((built / "dvc.lock").read_text())
    data_md5 = next(o["md5"] for o in lock["stages"]["ingest"]["outs"] if o["path"] == "data/raw.csv")
    assert run.data.tags["data_hash"] == data_md5
    assert run.data.tags["git_sha"] == git(built, "rev-parse", "HEAD").strip()
    name = params["tracking"]["registered_model"]
    version = _registry(built).get_model_version_by_alias(name, "challenger")
    assert version.run_id == record["mlflow_run_id"]
    assert version.tags["model_sha256"] == record["sha256"]


@pytest.mark.parametrize(
    ("corrupt", "column", "rule"),
    [
        (
            lambda text: text.replace("\n", "\nWhite,2001,150,Male,Yes,Yes,1,Yes\n", 1),
            "age",
            "expect_column_values_to_be_between",
        ),
        (
            lambda text: text[: len(text) // 3] + "\x00\x00,,,,,,,,,,,,\n" + text[len(text) // 3 :],
            "file",
            "parseable CSV",
        ),
    ],
    ids=["out-of-range", "garbled"],
)
def test_bad_data_stops_at_validate_and_keeps_previous_outputs(built: Path, corrupt, column: str, rule: str) -> None:
    project = clone_built(built, built.parent / f"bad-{column}")
    # Data arriving from outside the ingest stage (as in a fork): freeze ingest so dvc does not regenerate it.
    dvc(project, "freeze", "ingest")
    kept = {
        p: (project / p).read_bytes()
        for p in ("models/model.skops", "models/model.json", "reports/metrics.json", "data/split/train.parquet")
    }
    name = _params(project)["tracking"]["registered_model"]
    versions = _versions(project, name)
    raw = project / "data/raw.csv"
    raw.write_text(corrupt(raw.read_text()))

    result = dvc(project, "repro", check=False)
    assert result.returncode != 0
    assert stages_run(result.stdout) == ["validate"]
    message = result.stdout + result.stderr
    assert rule in message
    assert column == "file" or f"column {column!r}" in message
    assert {p: (project / p).read_bytes() for p in kept} == kept
    assert _versions(project, name) == versions


def test_dvc_remote_push_and_pull(built: Path, tmp_path: Path) -> None:
    project = clone_built(built, built.parent / "remote")
    dvc(project, "remote", "add", "--default", "local", str(tmp_path / "remote"))
    dvc(project, "push")
    originals = {p: (project / p).read_bytes() for p in ("data/raw.csv", "models/model.skops")}
    for p in originals:
        (project / p).unlink()
    import shutil

    shutil.rmtree(project / ".dvc" / "cache")
    dvc(project, "pull")
    assert {p: (project / p).read_bytes() for p in originals} == originals
