"""The `validate` stage: derive a Great Expectations suite from the contract and check the raw data against it.

The suite is regenerated from the contract on every run and kept in git (data/expectations/suite.json), so a
reviewer sees in the PR diff exactly which rules changed. On failure the stage exits non-zero with one line per
broken rule (file, column, rule, offending values) and DVC runs nothing downstream.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from model.core import paths
from model.core.contract import Column, Contract, load_contract
from model.core.errors import DataValidationError, LighthouseError
from model.core.io import write_json

log = logging.getLogger(__name__)

#: pandas dtype names accepted for each contract dtype (pandas 3 reads text columns as `str`).
TYPE_LISTS: dict[str, list[str]] = {
    "integer": ["int64", "int32", "int16", "int8", "Int64", "Int32", "Int16", "Int8"],
    "float": ["float64", "float32", "Float64", "Float32", "int64", "int32", "Int64"],
    "string": ["str"],
    "boolean": ["bool", "boolean"],
}
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one expectation, in the words a reviewer needs."""

    rule: str
    column: str | None
    success: bool
    unexpected_count: int | None = None
    examples: list[Any] = field(default_factory=list)
    observed: Any = None
    detail: str = ""

    def describe(self, source: Path) -> str:
        where = f"column {self.column!r}" if self.column else "table"
        parts = [f"{source}: {where}: {self.rule} failed"]
        if self.unexpected_count:
            parts.append(f"{self.unexpected_count} unexpected value(s), e.g. {self.examples}")
        if self.observed is not None:
            parts.append(f"observed {self.observed!r}")
        if self.detail:
            parts.append(self.detail)
        return "; ".join(parts)


def _column_expectations(column: Column) -> list[tuple[str, dict[str, Any]]]:
    name = column.name
    rules: list[tuple[str, dict[str, Any]]] = [
        ("expect_column_to_exist", {"column": name}),
        ("expect_column_values_to_be_in_type_list", {"column": name, "type_list": TYPE_LISTS[column.dtype]}),
    ]
    if not column.nullable:
        rules.append(("expect_column_values_to_not_be_null", {"column": name}))
    if column.categories is not None:
        rules.append(("expect_column_values_to_be_in_set", {"column": name, "value_set": list(column.categories)}))
    if column.min is not None or column.max is not None:
        rules.append(
            (
                "expect_column_values_to_be_between",
                {"column": name, "min_value": column.min, "max_value": column.max},
            )
        )
    return rules


def expectation_specs(contract: Contract) -> list[tuple[str, dict[str, Any]]]:
    """Every expectation the contract implies, then its extra ones, as (type, kwargs) pairs."""
    specs: list[tuple[str, dict[str, Any]]] = [
        ("expect_table_columns_to_match_set", {"column_set": contract.all_columns, "exact_match": True}),
        ("expect_table_row_count_to_be_between", {"min_value": contract.min_rows, "max_value": None}),
    ]
    for column in contract.columns:
        specs.extend(_column_expectations(column))
    target = contract.target
    specs.extend(
        [
            ("expect_column_to_exist", {"column": target.column}),
            ("expect_column_values_to_not_be_null", {"column": target.column}),
            (
                "expect_column_values_to_be_in_set",
                {"column": target.column, "value_set": list(target.labels)},
            ),
        ]
    )
    specs.extend((extra.type, dict(extra.kwargs)) for extra in contract.extra_expectations)
    return specs


@cache
def _context() -> Any:
    """One ephemeral GX context per process: no files, no network, no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@cache
def _batch_definition() -> Any:
    """A whole-dataframe batch definition, registered once per process (GX refuses duplicate names)."""
    return (
        _context()
        .data_sources.add_pandas("pandas")
        .add_dataframe_asset("raw")
        .add_batch_definition_whole_dataframe("all")
    )


def build_suite(contract: Contract) -> Any:
    """The Great Expectations 1.x ExpectationSuite for `contract`."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    _context()
    suite = gx.ExpectationSuite(name=f"{contract.name}_contract")
    for rule, kwargs in expectation_specs(contract):
        try:
            suite.add_expectation(ExpectationConfiguration(type=rule, kwargs=kwargs).to_domain_obj())
        except Exception as exc:  # GX raises several types for an unknown or malformed expectation
            raise DataValidationError(f"{paths.CONTRACT}: expectation {rule} {kwargs}: {exc}") from exc
    return suite


def read_raw(path: Path) -> pd.DataFrame:
    """Read the raw CSV with inferred dtypes (so a wrong type shows up in validation, not as a crash here)."""
    if not path.exists():
        raise DataValidationError(f"{path}: file not found (rule: file exists)")
    if path.stat().st_size == 0:
        raise DataValidationError(f"{path}: the file is empty (rule: non-empty CSV with a header)")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataValidationError(f"{path}: not a well-formed CSV (rule: parseable CSV): {first_line}") from exc
    # GX 1.x checks text columns value by value only for numpy `object` columns; pandas 3 reads text as `str`.
    text = [name for name, dtype in frame.dtypes.items() if pd.api.types.is_string_dtype(dtype)]
    return frame.astype(dict.fromkeys(text, object))


def run_suite(df: pd.DataFrame, suite: Any) -> list[RuleResult]:
    """Validate `df` with an ephemeral GX context (no files, no network) and summarise each expectation."""
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": df})
    outcome = batch.validate(suite, result_format="SUMMARY")
    results = []
    for item in outcome.results:
        config = item.expectation_config
        result = item.result or {}
        exception = (item.exception_info or {}).get("exception_message") if not item.success else None
        examples = [_plain(v) for v in (result.get("partial_unexpected_list") or [])][:MAX_EXAMPLES]
        results.append(
            RuleResult(
                rule=config.type,
                column=config.kwargs.get("column"),
                success=bool(item.success),
                unexpected_count=result.get("unexpected_count"),
                examples=examples,
                observed=_plain(result.get("observed_value")) if not item.success else None,
                detail=_short(exception) if exception else "",
            )
        )
    return results


def _plain(value: Any) -> Any:
    """Make GX/numpy values JSON-friendly and readable (NaN shown as the string 'NaN')."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _short(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def validate_file(data_path: Path, contract: Contract) -> tuple[bool, list[RuleResult]]:
    """Read and validate; a file that cannot be read is a single failed rule."""
    try:
        df = read_raw(data_path)
    except DataValidationError as exc:
        return False, [RuleResult(rule="readable_csv", column=None, success=False, detail=str(exc))]
    results = run_suite(df, build_suite(contract))
    return all(r.success for r in results), results


def write_report(path: Path, data_path: Path, success: bool, results: list[RuleResult]) -> None:
    failed = [r for r in results if not r.success]
    write_json(
        path,
        {
            "data": str(data_path),
            "success": success,
            "evaluated": len(results),
            "failed": len(failed),
            "results": [asdict(r) for r in results],
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.stages.validate", description=__doc__)
    parser.add_argument("--data", type=Path, default=paths.RAW_DATA)
    parser.add_argument("--contract", type=Path, default=paths.CONTRACT)
    parser.add_argument("--suite", type=Path, default=paths.SUITE, help="where to write the generated suite")
    parser.add_argument("--report", type=Path, default=paths.VALIDATION_REPORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    try:
        contract = load_contract(args.contract)
        write_json(args.suite, build_suite(contract).to_json_dict())
        success, results = validate_file(args.data, contract)
    except LighthouseError as exc:
        print(f"validate: {exc}", file=sys.stderr)
        return 2
    write_report(args.report, args.data, success, results)
    if not success:
        failed = [r for r in results if not r.success]
        print(f"validate: {len(failed)} rule(s) broken in {args.data}:", file=sys.stderr)
        for r in failed:
            print(f"  - {r.describe(args.data) if r.rule != 'readable_csv' else r.detail}", file=sys.stderr)
        return 1
    log.info("%s: %d expectations passed", args.data, len(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
