"""Coded categories (integer columns with `categories`, e.g. a 0/1 sex column) and their labels: accepted,
validated, and usable as a sensitive attribute without bands. String categories behave as before."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from model.core.contract import load_contract
from model.core.errors import ConfigError


def _contract(column: dict, sensitive: list[dict] | None = None) -> dict:
    return {
        "name": "t",
        "target": {"column": "y", "dtype": "integer", "positive_label": 1, "labels": [0, 1]},
        "columns": [column, {"name": "x", "dtype": "float"}],
        "sensitive_attributes": sensitive or [],
    }


def _load(tmp_path: Path, data: dict):
    path = tmp_path / "contract.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_contract(path)


def test_integer_column_with_categories_and_labels(tmp_path: Path) -> None:
    column = {"name": "sex", "dtype": "integer", "categories": [0, 1], "category_labels": {0: "female", 1: "male"}}
    contract = _load(tmp_path, _contract(column, [{"column": "sex"}]))
    sex = contract.by_name["sex"]
    assert sex.is_categorical
    assert sex.is_numeric
    assert sex.categories == (0, 1)
    assert sex.label_of(0) == "female"
    assert "sex" in contract.numeric_features  # the model still sees the code
    assert contract.sensitive_attributes[0].bands is None


def test_labels_are_optional_and_fall_back_to_the_value(tmp_path: Path) -> None:
    contract = _load(tmp_path, _contract({"name": "c", "dtype": "integer", "categories": [3, 1]}))
    assert contract.by_name["c"].label_of(3) == "3"


@pytest.mark.parametrize(
    ("column", "sensitive", "expected"),
    [
        (
            {"name": "c", "dtype": "integer", "categories": ["a", "b"]},
            None,
            r"categories of this integer column must be ints, got \['a', 'b'\]",
        ),
        (
            {"name": "c", "dtype": "string", "categories": [False, True]},
            None,
            r"categories of this string column must be strs, got \[0, 1\] \(quote YAML words such as Yes/No\)",
        ),
        ({"name": "c", "dtype": "float", "categories": [1, 2]}, None, r"only applies to string and integer columns"),
        (
            {"name": "c", "dtype": "integer", "categories": [0, 1], "category_labels": {2: "two"}},
            None,
            r"category_labels \[2\] are not among categories",
        ),
        (
            {"name": "c", "dtype": "integer", "categories": [0, 1]},
            [{"column": "c", "bands": [0, 1]}],
            r"'c' has categories; `bands` only apply to numeric columns",
        ),
        ({"name": "c", "dtype": "integer"}, [{"column": "c"}], r"numeric column 'c' needs `bands`"),
    ],
)
def test_bad_categories_name_the_column_and_rule(tmp_path: Path, column: dict, sensitive, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        _load(tmp_path, _contract(column, sensitive))
