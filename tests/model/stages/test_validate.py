"""Every kind of bad data stops at `validate` with a message naming the column and the rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from model.core import paths
from model.core.contract import Contract, load_contract
from model.core.params import load_params
from model.stages import validate
from model.stages.ingest import load_frame

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract(ROOT / paths.CONTRACT)


@pytest.fixture(scope="module")
def clean(contract: Contract) -> pd.DataFrame:
    """The real example data, as the ingest stage produces it."""
    frame = load_frame(load_params(ROOT / paths.PARAMS).ingest)
    return frame[contract.all_columns]


def _first(contract: Contract, dtype: str, numeric_range: bool = False) -> str:
    return next(c.name for c in contract.columns if c.dtype == dtype and (not numeric_range or c.max is not None))


def _run(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, dict]:
    report = tmp_path / "validation.json"
    code = validate.main(
        [
            "--data",
            str(data),
            "--contract",
            str(ROOT / paths.CONTRACT),
            "--suite",
            str(tmp_path / "suite.json"),
            "--report",
            str(report),
        ]
    )
    return code, capsys.readouterr().err, json.loads(report.read_text()) if report.exists() else {}


def test_clean_data_passes(tmp_path: Path, clean: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "raw.csv"
    clean.to_csv(data, index=False)
    code, err, report = _run(tmp_path, data, capsys)
    assert code == 0, err
    assert report["success"] is True
    assert report["failed"] == 0
    assert report["evaluated"] == len(validate.expectation_specs(load_contract(ROOT / paths.CONTRACT)))


def _frame_case(change: Callable[[pd.DataFrame, Contract], tuple[pd.DataFrame, str, str]]):
    def write(tmp_path: Path, clean: pd.DataFrame, contract: Contract) -> tuple[Path, str, str]:
        frame, column, rule = change(clean.copy(), contract)
        path = tmp_path / "raw.csv"
        frame.to_csv(path, index=False)
        return path, column, rule

    return write


def _bytes_case(change: Callable[[bytes], bytes], column: str, rule: str):
    def write(tmp_path: Path, clean: pd.DataFrame, contract: Contract) -> tuple[Path, str, str]:
        path = tmp_path / "raw.csv"
        path.write_bytes(change(clean.to_csv(index=False).encode()))
        return path, column, rule

    return write


def _missing_column(df: pd.DataFrame, c: Contract) -> tuple[pd.DataFrame, str, str]:
    name = _first(c, "integer")
    return df.drop(columns=[name]), name, "expect_column_to_exist"


def _unexpected_column(df: pd.DataFrame, c: Contract) -> tuple[pd.DataFrame, str, str]:
    df["postcode"] = "M5V"
    return df, "table", "expect_table_columns_to_match_set"


def _wrong_dtype(df: pd.DataFrame, c: Contract) -> tuple[pd.DataFrame, str, str]:
    name = _first(c, "integer")
    df[name] = df[name].astype(object)
    df.loc[3, name] = "twenty"
    return df, name, "expect_column_values_to_be_in_type_list"


def _nulls(df: pd.DataFrame, c: Contract) -> tuple[pd.DataFrame, str, str]:
    name = _first(c, "string")
    df.loc[[5, 50, 500], name] = None
    return df, name, "expect_column_values_to_not_be_null"


def _out_of_range(df: pd.DataFrame, c: Contract) -> tuple[pd.DataFrame, str, str]:
    col = next(col for col in c.columns if col.max is not None)
    df.loc[7, col.name] = int(col.max) + 100
    return df, col.name, "expect_column_values_to_be_between"


def _unseen_category(df: pd.DataFrame, c: Contract) -> tuple[pd.DataFrame, str, str]:
    name = _first(c, "string")
    df.loc[11, name] = "Unheard-of"
    return df, name, "expect_column_values_to_be_in_set"


def _unknown_label(df: pd.DataFrame, c: Contract) -> tuple[pd.DataFrame, str, str]:
    df.loc[13, c.target.column] = "Maybe"
    return df, c.target.column, "expect_column_values_to_be_in_set"


def _header_only(df: pd.DataFrame, c: Contract) -> tuple[pd.DataFrame, str, str]:
    return df.head(0), "table", "expect_table_row_count_to_be_between"


def _insert_after_line(data: bytes, line: int, garbage: bytes) -> bytes:
    lines = data.split(b"\n")
    return b"\n".join([*lines[:line], garbage, *lines[line:]])


CASES = {
    "missing column": _frame_case(_missing_column),
    "unexpected column": _frame_case(_unexpected_column),
    "wrong dtype": _frame_case(_wrong_dtype),
    "nulls in a required column": _frame_case(_nulls),
    "out-of-range value": _frame_case(_out_of_range),
    "unseen category": _frame_case(_unseen_category),
    "unknown target label": _frame_case(_unknown_label),
    "header only": _frame_case(_header_only),
    "empty file": _bytes_case(lambda b: b"", "file", "non-empty CSV"),
    # Mid-file garbage with too many fields: pandas cannot tokenise it.
    "garbled CSV": _bytes_case(lambda b: _insert_after_line(b, 10, b",,,,;;;,,,,,,,\x00\xff"), "file", "parseable CSV"),
    # Cut mid-row, as an interrupted download leaves it: the last row's trailing fields are missing.
    "truncated CSV": _bytes_case(lambda b: b[: len(b) // 2].rsplit(b",", 3)[0], "released", "not_be_null"),
}


@pytest.mark.parametrize("case", CASES)
def test_corruption_stops_with_column_and_rule(
    case: str, tmp_path: Path, clean: pd.DataFrame, contract: Contract, capsys: pytest.CaptureFixture[str]
) -> None:
    data, column, rule = CASES[case](tmp_path, clean, contract)
    code, err, report = _run(tmp_path, data, capsys)
    assert code == 1
    assert str(data) in err
    assert column == "file" or f"column {column!r}" in err or column == "table"
    assert rule in err
    assert "Traceback" not in err
    assert report["success"] is False
    assert report["failed"] >= 1


def test_report_lists_offending_values(
    tmp_path: Path, clean: pd.DataFrame, contract: Contract, capsys: pytest.CaptureFixture[str]
) -> None:
    data, column, _ = CASES["unseen category"](tmp_path, clean, contract)
    _, err, report = _run(tmp_path, data, capsys)
    failed = [r for r in report["results"] if not r["success"]]
    assert [(r["column"], r["rule"], r["unexpected_count"], r["examples"]) for r in failed] == [
        (column, "expect_column_values_to_be_in_set", 1, ["Unheard-of"])
    ]
    assert "'Unheard-of'" in err


def test_suite_json_round_trips_and_matches_the_committed_one(tmp_path: Path, contract: Contract) -> None:
    import great_expectations as gx

    built = validate.build_suite(contract).to_json_dict()
    assert gx.ExpectationSuite(**built).to_json_dict() == built
    committed = json.loads((ROOT / paths.SUITE).read_text())
    assert committed == json.loads(json.dumps(built)), "data/expectations/suite.json is stale: run `make pipeline`"


def test_extra_expectation_from_contract_is_enforced(
    tmp_path: Path, clean: pd.DataFrame, contract: Contract, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = contract.extra_expectations[0]
    column = extra.kwargs["column"]
    frame = clean.copy()
    frame[column] = contract.by_name[column].max
    data = tmp_path / "raw.csv"
    frame.to_csv(data, index=False)
    code, err, _ = _run(tmp_path, data, capsys)
    assert code == 1
    assert extra.type in err
