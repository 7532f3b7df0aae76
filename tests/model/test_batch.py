"""`python -m model.batch IN OUT` scores through the server's code path and refuses bad rows before writing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from model import batch
from tests.model.serve.helpers import ROOT
from tests.model.serve.training import TrainedModel, train_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainedModel]:
    with threadpool_limits(limits=1):  # small predictions: one OpenMP thread is much faster on busy cores
        yield train_model(tmp_path_factory.mktemp("model"))


def run(trained: TrainedModel, source: Path, target: Path) -> int:
    return batch.main([str(source), str(target), "--model-dir", str(trained.model_dir)])


@pytest.mark.parametrize(("suffix_in", "suffix_out"), [(".csv", ".parquet"), (".parquet", ".csv")])
def test_scores_equal_the_pipeline(trained: TrainedModel, tmp_path: Path, suffix_in: str, suffix_out: str) -> None:
    source, target = tmp_path / f"in{suffix_in}", tmp_path / f"out{suffix_out}"
    if suffix_in == ".csv":
        trained.test.to_csv(source, index=False)
    else:
        trained.test.to_parquet(source, index=False)
    assert run(trained, source, target) == 0
    scored = pd.read_csv(target) if suffix_out == ".csv" else pd.read_parquet(target)
    expected = trained.pipeline.predict_proba(trained.x_test)[:, 1]
    np.testing.assert_array_equal(scored[batch.PROBABILITY].to_numpy(), expected)
    labels = [trained.record.classes[str(c)] for c in trained.pipeline.predict(trained.x_test)]
    assert scored[batch.LABEL].tolist() == labels
    # Columns outside the model's features (the label, the audited attribute) pass through, in order.
    target_column = trained.contract.target.column
    assert scored[target_column].tolist() == trained.test[target_column].tolist()
    assert list(scored.columns[: len(trained.test.columns)]) == list(trained.test.columns)
    assert set(scored[batch.VERSION].astype(str)) == {trained.record.sha256[:12]}


def test_a_bad_row_stops_the_run_and_writes_nothing(
    trained: TrainedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = trained.test.head(20).copy()
    frame["age"] = frame["age"].astype(object)
    frame.loc[4, "age"] = 250
    frame.loc[9, "sex"] = "Unknown"
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    assert run(trained, source, target) == 1
    err = capsys.readouterr().err
    assert f"{source}: row 5, column 'age': less_than_equal" in err
    assert "(got 250)" in err
    assert f"{source}: row 10, column 'sex': literal_error" in err
    assert not target.exists()


def test_a_missing_column_is_named(trained: TrainedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    trained.test.drop(columns=["checks"]).to_csv(source, index=False)
    assert run(trained, source, tmp_path / "out.csv") == 1
    assert "missing column(s) ['checks']" in capsys.readouterr().err


def test_a_missing_value_is_named(trained: TrainedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    frame = trained.test.head(5).astype({"checks": float})
    frame.loc[2, "checks"] = np.nan
    frame.to_csv(source, index=False)
    assert run(trained, source, tmp_path / "out.csv") == 1
    assert "row 3, column 'checks'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["in.json", "missing.csv"])
def test_unreadable_input(trained: TrainedModel, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / name
    if name.endswith(".json"):
        source.write_text("{}")
    assert run(trained, source, tmp_path / "out.csv") == 2
    assert str(source) in capsys.readouterr().err


def test_command_line_refuses_a_missing_model(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("age\n30\n")
    result = subprocess.run(
        [sys.executable, "-m", "model.batch", str(source), str(tmp_path / "out.csv"), "--model-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "model.json: model record not found" in result.stderr
