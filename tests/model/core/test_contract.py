"""The contract and params load into frozen models, and every mistake names its file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from model.core import paths
from model.core.contract import Contract, load_contract
from model.core.errors import ConfigError
from model.core.params import load_params

ROOT = Path(__file__).resolve().parents[3]


def _contract_dict() -> dict:
    return yaml.safe_load((ROOT / paths.CONTRACT).read_text())


def _write(tmp_path: Path, data: object, name: str = "contract.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_example_contract_loads_and_derives_features() -> None:
    contract = load_contract(ROOT / paths.CONTRACT)
    assert contract.target.column not in [c.name for c in contract.feature_columns]
    assert set(contract.numeric_features).isdisjoint(contract.categorical_features)
    declared_features = {c.name for c in contract.columns if c.feature}
    assert set(contract.numeric_features) | set(contract.categorical_features) == declared_features
    assert contract.target.negative_label != contract.target.positive_label


def test_contract_is_frozen() -> None:
    contract = load_contract(ROOT / paths.CONTRACT)
    with pytest.raises(ValueError, match="frozen"):
        contract.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["columns"][1].update(dtype="int"), r"columns\.1\.dtype"),
        (lambda d: d["columns"][0].pop("categories"), "needs `categories`"),
        (lambda d: d["columns"][2].update(min=100, max=1), "min 100.0 is greater than max 1.0"),
        (lambda d: d["target"].update(positive_label="Maybe"), "'Maybe' is not one of labels"),
        (lambda d: d.update(sensitive_attributes=[{"column": "nope"}]), "'nope' is not a declared column"),
        (lambda d: d.update(sensitive_attributes=[{"column": "age"}]), "numeric column 'age' needs `bands`"),
        (lambda d: d["columns"][0].update(colour_typo=True), r"columns\.0\.colour_typo: Extra inputs"),
        (lambda d: d.pop("target"), r"target: Field required"),
        (lambda d: d.update(extra_expectations=[{"type": "drop_table"}]), r"extra_expectations\.0\.type"),
    ],
)
def test_broken_contract_names_the_field(tmp_path: Path, mutate, expected: str) -> None:
    data = _contract_dict()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError, match=expected) as info:
        load_contract(path)
    assert str(path) in str(info.value)


def test_unreadable_and_non_mapping_contracts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_contract(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_contract(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_contract(bad)


def test_example_params_load() -> None:
    params = load_params(ROOT / paths.PARAMS)
    assert params.train.estimator_params() == getattr(params.train, params.train.estimator).model_dump()


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("split", "test_size", 1.5, r"split\.test_size: Input should be less than 1"),
        ("train", "estimator", "xgboost", r"train\.estimator: Input should be"),
        ("ingest", "loader", "not a loader", r"ingest\.loader: String should match pattern"),
        ("evaluate", "thresold", 0.5, r"evaluate\.thresold: Extra inputs are not permitted"),
    ],
)
def test_broken_params_name_the_field(tmp_path: Path, section: str, key: str, value: object, expected: str) -> None:
    data = yaml.safe_load((ROOT / paths.PARAMS).read_text())
    data[section][key] = value
    path = _write(tmp_path, data, "params.yaml")
    with pytest.raises(ConfigError, match=expected):
        load_params(path)


def test_cli_reports_broken_contract_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from model.stages import validate

    data = _contract_dict()
    data["min_rows"] = 0
    path = _write(tmp_path, data)
    code = validate.main(
        ["--contract", str(path), "--suite", str(tmp_path / "s.json"), "--report", str(tmp_path / "r")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: min_rows: Input should be greater than or equal to 1" in err
    assert "Traceback" not in err
    assert not (tmp_path / "s.json").exists()


def test_contract_model_round_trips() -> None:
    contract = load_contract(ROOT / paths.CONTRACT)
    assert Contract.model_validate(contract.model_dump()) == contract
