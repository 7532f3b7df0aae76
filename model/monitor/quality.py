"""Data quality of a window: the share of each column's values that break the data contract, with vectorised
checks (the same rules model.stages.validate derives for Great Expectations: not null, type, categories, min/max), fast
enough for a million rows. Also returns the window cast to the contract's types for the drift statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model.core.contract import Column, Contract
from model.monitor.window import BadInputError, Window

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class ColumnQuality:
    column: str
    rows: int
    missing: int  # null where the contract forbids it
    wrong_type: int
    out_of_domain: int  # outside min/max or the categories
    examples: list[Any] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return self.missing + self.wrong_type + self.out_of_domain

    @property
    def violation_rate(self) -> float:
        return self.violations / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class CheckedColumn:
    quality: ColumnQuality
    values: pd.Series  # float for numeric columns, str (or NaN) for text; type violations are NaN


def _examples(values: pd.Series) -> list[Any]:
    unique = pd.unique(values.head(10_000) if len(values) > 10_000 else values)[:MAX_EXAMPLES]
    return [v.item() if hasattr(v, "item") else v for v in unique]


def check_column(series: pd.Series, column: Column, *, categories: tuple[Any, ...] | None = None) -> CheckedColumn:
    """Count the rule breaks of one column and return it typed (wrong-typed values become missing)."""
    levels = categories if categories is not None else column.categories
    null = series.isna().to_numpy()
    if column.dtype in ("integer", "float"):
        if pd.api.types.is_bool_dtype(series.dtype):
            numbers = pd.Series(np.nan, index=series.index)
        elif pd.api.types.is_numeric_dtype(series.dtype):
            numbers = series.astype(float)
        else:
            numbers = pd.to_numeric(series, errors="coerce").astype(float)
        values = numbers.to_numpy()
        bad_type = ~null & np.isnan(values)
        if column.dtype == "integer":
            fractional = ~np.isnan(values) & (np.floor(values) != values)
            bad_type |= fractional
            values = np.where(fractional, np.nan, values)
        domain = np.zeros(len(series), dtype=bool)
        with np.errstate(invalid="ignore"):
            if column.min is not None:
                domain |= values < column.min
            if column.max is not None:
                domain |= values > column.max
        typed = pd.Series(values, index=series.index)
    elif column.dtype == "boolean":
        is_bool = series.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
        bad_type = ~null & ~is_bool
        domain = np.zeros(len(series), dtype=bool)
        typed = series.where(is_bool).astype(float)
    else:
        if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
            is_text = ~null
        else:
            is_text = series.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        bad_type = ~null & ~is_text
        typed = series.where(is_text)
        domain = is_text & ~typed.isin(list(levels or ())).to_numpy() if levels else np.zeros(len(series), bool)
    missing = null if not column.nullable else np.zeros(len(series), dtype=bool)
    broken = missing | bad_type | domain
    quality = ColumnQuality(
        column=column.name,
        rows=len(series),
        missing=int(missing.sum()),
        wrong_type=int(bad_type.sum()),
        out_of_domain=int((domain & ~bad_type).sum()),
        examples=_examples(series[broken & ~null]) if broken.any() else [],
    )
    return CheckedColumn(quality, typed)


def check_window(window: Window, contract: Contract) -> tuple[list[ColumnQuality], pd.DataFrame]:
    """Quality of every contract column present (the target too), and the typed frame.

    A column with values but none of the contract's type (text in a numeric column, say) means the batch is not
    what the contract describes: that is bad input, not a quality rate.
    """
    results: list[ColumnQuality] = []
    typed: dict[str, pd.Series] = {}
    columns = [c for c in contract.columns if c.name in window.frame.columns]
    target = contract.target
    target_column = None
    if target.column in window.frame.columns:
        # Delayed labels arrive for some rows only: a missing label is not a violation.
        target_column = Column(
            name=target.column, dtype="string", nullable=True, categories=tuple(str(v) for v in target.labels)
        )
        columns.append(target_column)
    for column in columns:
        series = window.frame[column.name]
        if column is target_column:
            series = series.map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        checked = check_column(series, column)
        present = checked.quality.rows - int(series.isna().sum())
        if present and checked.quality.wrong_type == present and column is not target_column:
            raise BadInputError(
                f"{window.source}: column {column.name!r}: no value has the contract type {column.dtype} "
                f"(rule: type {column.dtype}), e.g. {checked.quality.examples} (read as {series.dtype})"
            )
        results.append(checked.quality)
        typed[column.name] = checked.values
    return results, pd.DataFrame(typed)
