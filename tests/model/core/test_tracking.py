"""training_run: stages log into the training run when the store has it, into a new, labelled run when it does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.core.tracking import configure, training_run


@pytest.fixture
def mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return configure("tracking-test")


def test_a_run_in_the_store_is_resumed(mlflow) -> None:  # type: ignore[no-untyped-def]
    with mlflow.start_run() as trained:
        pass
    with training_run(mlflow, trained.info.run_id, "evaluate") as run:
        mlflow.log_metric("m", 1.0)
    assert run.info.run_id == trained.info.run_id
    assert mlflow.get_run(trained.info.run_id).data.metrics == {"m": 1.0}


def test_a_run_from_another_store_gets_a_new_labelled_run(mlflow, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    foreign = "0123456789abcdef0123456789abcdef"
    with training_run(mlflow, foreign, "fairness") as run:
        mlflow.log_metric("m", 2.0)
    assert run.info.run_id != foreign
    logged = mlflow.get_run(run.info.run_id).data
    assert logged.metrics == {"m": 2.0}
    assert logged.tags["lighthouse.trained_in_run"] == foreign
    assert logged.tags["lighthouse.stage"] == "fairness"
    assert f"MLflow run {foreign} is not in" in capsys.readouterr().err
