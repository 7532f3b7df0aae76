"""Which gates run: derived from params.yaml (`gates`) and the contract, before any test runs.

Every gate has a dotted name (`regression.roc_auc`, `fairness.colour.equalized_odds_difference`) whose first part
is its family. `gates.advisory` lists names or prefixes (`latency`, `fairness.age`): those gates report without
blocking. The plan also checks that params.yaml only names columns, attributes and values the contract declares,
so a typo is a ConfigError naming the field instead of a gate that silently checks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.core.contract import Contract
from model.core.errors import ConfigError
from model.core.params import DirectionalCheck, GatesParams, Params

FAIRNESS_METRICS = ("demographic_parity_difference", "equalized_odds_difference")

#: Families in the order the reports list them, with what each checks.
FAMILIES = {
    "data_validation": "the raw data passed every expectation of the contract",
    "metric": "a held-out metric is within its absolute floor or ceiling",
    "regression": "a held-out metric is no worse than the champion's by more than allowed",
    "fairness": "a fairness difference of one sensitive attribute is within its maximum",
    "fairness_intersection": "a fairness difference over the intersection of all sensitive attributes",
    "model_size": "the serialised model is within its size budget",
    "latency": "median single-row prediction time is within its budget",
    "invariance": "changing a field that must not matter leaves every prediction (nearly) unchanged",
    "directional": "changing a field moves predictions in the expected direction",
}


@dataclass(frozen=True)
class GateSpec:
    """One planned gate."""

    name: str
    family: str
    subject: str  # the metric, attribute or column it is about ("" when none)
    blocking: bool
    index: int = 0  # position of its check in params.yaml lists (behaviour checks)


def is_advisory(name: str, advisory: tuple[str, ...]) -> bool:
    return any(name == entry or name.startswith(f"{entry}.") for entry in advisory)


def _names(params: Params, contract: Contract) -> list[tuple[str, str, str, int]]:
    gates = params.gates
    planned: list[tuple[str, str, str, int]] = [("data_validation", "data_validation", "", 0)]
    for metric, bound in gates.metrics.items():
        for side in ("min", "max"):
            if getattr(bound, side) is not None:
                planned.append((f"metric.{metric}.{side}", "metric", metric, 0))
    planned += [(f"regression.{metric}", "regression", metric, 0) for metric in gates.regression]
    for attribute in contract.sensitive_attributes:
        planned += [(f"fairness.{attribute.column}.{m}", "fairness", attribute.column, 0) for m in FAIRNESS_METRICS]
    if intersection_gated(params, contract):
        planned += [(f"fairness_intersection.{m}", "fairness_intersection", m, 0) for m in FAIRNESS_METRICS]
    planned += [("model_size", "model_size", "", 0), ("latency", "latency", "", 0)]
    behaviour = gates.behaviour
    for family, columns in (
        ("invariance", [c.column for c in behaviour.invariance]),
        ("directional", [c.column for c in behaviour.directional]),
    ):
        seen: dict[str, int] = {}
        for index, column in enumerate(columns):
            seen[column] = seen.get(column, 0) + 1
            suffix = "" if seen[column] == 1 else f".{seen[column]}"
            planned.append((f"{family}.{column}{suffix}", family, column, index))
    return planned


def intersection_gated(params: Params, contract: Contract) -> bool:
    """The intersection is gated when it is audited (2+ attributes, fairness.intersection) and has maxima."""
    return (
        params.fairness.intersection
        and len(contract.sensitive_attributes) >= 2
        and params.gates.fairness.intersection is not None
    )


def build_plan(params: Params, contract: Contract, params_path: Path) -> list[GateSpec]:
    """Every gate, in report order; ConfigError (naming params.yaml and the field) on a reference to nothing."""
    check_references(params.gates, contract, params_path)
    planned = _names(params, contract)
    advisory = params.gates.advisory
    for position, entry in enumerate(advisory):
        if not any(is_advisory(name, (entry,)) for name, *_ in planned):
            raise ConfigError(
                f"{params_path}: gates.advisory.{position}: {entry!r} matches no gate "
                f"(gates: {', '.join(name for name, *_ in planned)})"
            )
    return [
        GateSpec(name=name, family=family, subject=subject, blocking=not is_advisory(name, advisory), index=index)
        for name, family, subject, index in planned
    ]


def check_references(gates: GatesParams, contract: Contract, params_path: Path) -> None:
    """Columns, attributes and category values named in `gates` must exist in the contract."""
    sensitive = {a.column for a in contract.sensitive_attributes}
    for attribute in gates.fairness.per_attribute:
        if attribute not in sensitive:
            raise ConfigError(
                f"{params_path}: gates.fairness.per_attribute.{attribute}: not a sensitive attribute of the "
                f"contract (has: {sorted(sensitive)})"
            )
    for index, invariance in enumerate(gates.behaviour.invariance):
        _column(contract, invariance.column, f"gates.behaviour.invariance.{index}.column", params_path)
    for index, directional in enumerate(gates.behaviour.directional):
        _check_directional(contract, directional, f"gates.behaviour.directional.{index}", params_path)


def _column(contract: Contract, name: str, field: str, params_path: Path) -> None:
    if name not in contract.by_name:
        raise ConfigError(f"{params_path}: {field}: {name!r} is not a column of the contract")


def _check_directional(contract: Contract, check: DirectionalCheck, field: str, params_path: Path) -> None:
    _column(contract, check.column, f"{field}.column", params_path)
    column = contract.by_name[check.column]
    if check.shift is not None:
        if not column.is_numeric or column.is_categorical:
            raise ConfigError(
                f"{params_path}: {field}.shift: column {check.column!r} is not numeric; use `from` and `to`"
            )
        if column.dtype == "integer" and not float(check.shift).is_integer():
            raise ConfigError(
                f"{params_path}: {field}.shift: integer column {check.column!r} needs a whole shift (got {check.shift})"
            )
        return
    if not column.is_categorical:
        raise ConfigError(f"{params_path}: {field}: column {check.column!r} has no categories; use `shift`")
    for key, value in (("from", check.from_value), ("to", check.to_value)):
        if value not in (column.categories or ()):
            raise ConfigError(
                f"{params_path}: {field}.{key}: {value!r} is not a category of {check.column!r} "
                f"(categories: {list(column.categories or ())})"
            )
