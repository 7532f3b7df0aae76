"""Bad batches are reported clearly (file, column, rule) with exit code 2, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.monitor.report import EXIT_BAD_INPUT, EXIT_INSUFFICIENT
from tests.model.monitor.conftest import Example
from tests.model.monitor.helpers import run_monitor, write_batch


def _held_out(example: Example, rows: int = 300):  # type: ignore[no-untyped-def]
    return example.test.head(rows).drop(columns=[example.contract.target.column])


def _bad(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str], *source: str) -> str:
    code, report = run_monitor(example, tmp_path, *source)
    assert code == EXIT_BAD_INPUT
    assert report is None, "nothing may be written for bad input"
    assert not (tmp_path / "reports").exists()
    err: str = capsys.readouterr().err
    assert err.startswith("monitor: ")
    return err


def test_a_missing_column_is_named(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_batch(_held_out(example).drop(columns=["age", "checks"]), tmp_path / "in" / "batch.csv")
    err = _bad(example, tmp_path, capsys, "--batch", str(path))
    assert str(path) in err
    assert "['age', 'checks']" in err
    assert "every contract feature is present" in err


def test_an_empty_file(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    err = _bad(example, tmp_path, capsys, "--batch", str(path))
    assert f"{path}: the file is empty" in err


def test_a_header_without_rows(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_batch(_held_out(example).head(0), tmp_path / "header.csv")
    err = _bad(example, tmp_path, capsys, "--batch", str(path))
    assert f"{path}: no rows" in err


def test_a_column_of_the_wrong_type(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = _held_out(example)
    batch["age"] = "twenty"
    path = write_batch(batch, tmp_path / "typed.parquet")
    err = _bad(example, tmp_path, capsys, "--batch", str(path))
    assert str(path) in err
    assert "column 'age'" in err
    assert "rule: type integer" in err
    assert "twenty" in err


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.parquet", b"PAR1 this is not parquet"),
        ("quotes.csv", b'year,age\n"2000,24\n2001,"\n'),
        ("broken.jsonl", b'{"year": 2000, "age": \n'),
        ("binary.csv", b"\xff\xfe\x00\x00\x81\x82"),
    ],
)
def test_an_unparseable_file(
    example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    err = _bad(example, tmp_path, capsys, "--batch", str(path))
    assert str(path) in err
    assert "rule:" in err


def test_an_unsupported_or_missing_file(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "batch.xlsx").write_text("x")
    assert "unsupported file type '.xlsx'" in _bad(example, tmp_path, capsys, "--batch", str(tmp_path / "batch.xlsx"))
    assert "file not found" in _bad(example, tmp_path, capsys, "--batch", str(tmp_path / "nope.csv"))


def test_a_broken_log_line_is_located(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    good = '{"ts": 1, "request_id": "a", "index": 0, "model_version": "1", "probability": 0.5, "instance": {}}\n'
    (logs / "inference-1.jsonl").write_text(good * 3 + '{"ts": 2, "probab\n' + good)
    err = _bad(example, tmp_path, capsys, "--logs", str(logs))
    assert f"{logs / 'inference-1.jsonl'}:4: not valid JSON" in err


def test_a_log_directory_without_logs(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "inference-1.jsonl.open").write_text("{}\n")  # still being written: not a window
    err = _bad(example, tmp_path, capsys, "--logs", str(tmp_path / "logs"))
    assert "no inference log files" in err


def test_a_bad_time_is_named(example: Example, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "logs").mkdir()
    err = _bad(example, tmp_path, capsys, "--logs", str(tmp_path / "logs"), "--since", "yesterday")
    assert "time 'yesterday': not ISO 8601" in err


def test_too_few_rows_are_not_judged(example: Example, tmp_path: Path) -> None:
    rows = example.params.monitor.min_rows - 1
    path = write_batch(_held_out(example, rows), tmp_path / "small.parquet")
    code, report = run_monitor(example, tmp_path, "--batch", str(path))
    assert code == EXIT_INSUFFICIENT
    assert report is not None
    assert report["status"] == "insufficient_data"
    assert report["exit_code"] == EXIT_INSUFFICIENT
    assert report["features"] == []
    assert report["findings"] == [f"{rows} rows, fewer than min_rows {rows + 1}: not judged"]
