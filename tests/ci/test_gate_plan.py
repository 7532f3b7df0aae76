"""The gate plan follows params.yaml and the contract, and rejects references to nothing with the field's name."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ci.gate_plan import FAMILIES, build_plan, is_advisory
from model.core import paths
from model.core.contract import Contract
from model.core.errors import ConfigError
from model.core.params import Params
from tests.ci.crafted import PROJECT, project_yaml

PARAMS_PATH = Path("params.yaml")


def _load(params: dict, contract: dict | None = None) -> tuple[Params, Contract]:
    return Params.model_validate(params), Contract.model_validate(contract or project_yaml(paths.CONTRACT))


def test_default_plan_covers_every_family_with_unique_names() -> None:
    params, contract = _load(project_yaml(paths.PARAMS))
    plan = build_plan(params, contract, PARAMS_PATH)
    names = [spec.name for spec in plan]
    assert len(names) == len(set(names))
    assert {spec.family for spec in plan} == set(FAMILIES)
    for attribute in contract.sensitive_attributes:
        assert f"fairness.{attribute.column}.demographic_parity_difference" in names
    for metric in params.gates.regression:
        assert f"regression.{metric}" in names
    advisory = {spec.name for spec in plan if not spec.blocking}
    assert advisory == {name for name in names if is_advisory(name, params.gates.advisory)}
    assert "latency" in advisory


def test_advisory_entries_match_names_and_prefixes_only() -> None:
    assert is_advisory("fairness.age.equalized_odds_difference", ("fairness.age",))
    assert is_advisory("latency", ("latency",))
    assert not is_advisory("fairness.agent.equalized_odds_difference", ("fairness.age",))
    assert not is_advisory("fairness_intersection.x", ("fairness",))


def test_duplicate_behaviour_columns_get_distinct_names() -> None:
    raw = copy.deepcopy(project_yaml(paths.PARAMS))
    checks = raw["gates"]["behaviour"]["directional"]
    raw["gates"]["behaviour"]["directional"] = [checks[0], {**checks[0], "shift": 2}]
    params, contract = _load(raw)
    names = [s.name for s in build_plan(params, contract, PARAMS_PATH) if s.family == "directional"]
    assert names == ["directional.checks", "directional.checks.2"]


def test_intersection_gate_needs_two_attributes_and_maxima() -> None:
    raw = copy.deepcopy(project_yaml(paths.PARAMS))
    raw["gates"]["fairness"]["intersection"] = None
    raw["gates"]["advisory"] = ["latency"]
    params, contract = _load(raw)
    assert not any(s.family == "fairness_intersection" for s in build_plan(params, contract, PARAMS_PATH))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda g: g.update(advisory=["latncy"]), r"gates\.advisory\.0: 'latncy' matches no gate"),
        (
            lambda g: g["fairness"]["per_attribute"].update(colur=g["fairness"]["default"]),
            r"gates\.fairness\.per_attribute\.colur: not a sensitive attribute",
        ),
        (
            lambda g: g["behaviour"]["invariance"][0].update(column="race"),
            r"gates\.behaviour\.invariance\.0\.column: 'race' is not a column",
        ),
        (
            lambda g: g["behaviour"]["directional"][0].update(column="employed"),
            r"gates\.behaviour\.directional\.0\.shift: column 'employed' is not numeric",
        ),
        (
            lambda g: g["behaviour"]["directional"][0].update(shift=0.5),
            r"directional\.0\.shift: integer column 'checks' needs a whole shift",
        ),
        (
            lambda g: g["behaviour"]["directional"][1].update(to="Maybe"),
            r"directional\.1\.to: 'Maybe' is not a category of 'employed'",
        ),
    ],
)
def test_reference_to_nothing_is_a_config_error_naming_the_field(mutate, expected: str) -> None:
    raw = copy.deepcopy(project_yaml(paths.PARAMS))
    mutate(raw["gates"])
    params, contract = _load(raw)
    with pytest.raises(ConfigError, match=expected) as info:
        build_plan(params, contract, PARAMS_PATH)
    assert str(PARAMS_PATH) in str(info.value)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda g: g["metrics"].update(roc_auc={}), r"gates\.metrics\.roc_auc: Value error, give `min`, `max`"),
        (lambda g: g["regression"].update(roc_auc=-0.1), r"gates: Value error, regression: allowed worsening"),
        (
            lambda g: g["behaviour"]["directional"][0].update({"from": "No"}),
            r"directional\.0: Value error, give either `shift`",
        ),
        (lambda g: g["latency"].update(budget_ms=0), r"gates\.latency\.budget_ms: Input should be greater than 0"),
        (lambda g: g.update(advisroy=[]), r"gates\.advisroy: Extra inputs are not permitted"),
    ],
)
def test_malformed_gates_section_names_the_field(tmp_path: Path, mutate, expected: str) -> None:
    from model.core.params import load_params

    raw = copy.deepcopy(yaml.safe_load((PROJECT / paths.PARAMS).read_text()))
    mutate(raw["gates"])
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=expected):
        load_params(path)
