"""The data contract: typed, frozen, validated at load. Everything dataset-specific comes from here."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from model.core.yaml_config import Frozen, load_model

DEFAULT_CONTRACT_PATH = Path("data/contract.yaml")

DType = Literal["integer", "float", "string", "boolean"]
#: A category is a string, or an integer code (e.g. `sex: 0/1` in a public dataset).
Category = str | int


class Column(Frozen):
    """One input column.

    A string column lists its `categories`; an integer column may too (coded categories such as 0/1), and is then
    validated against them and treated as categorical by the fairness audit, while the model still sees the code.
    `category_labels` optionally names the codes for the reports (e.g. `{0: female, 1: male}`).
    """

    name: str = Field(min_length=1)
    dtype: DType
    nullable: bool = False
    categories: tuple[str, ...] | tuple[int, ...] | None = None
    category_labels: dict[Category, str] | None = None
    min: float | None = None
    max: float | None = None
    feature: bool = True
    description: str = ""

    @model_validator(mode="after")
    def _check_domain(self) -> Column:
        if self.dtype == "string" and not self.categories:
            raise ValueError(f"column {self.name!r}: a string column needs `categories`")
        if self.dtype in ("float", "boolean") and self.categories:
            raise ValueError(f"column {self.name!r}: `categories` only applies to string and integer columns")
        if self.categories:
            wanted = str if self.dtype == "string" else int
            wrong = [c for c in self.categories if type(c) is not wanted]
            if wrong:
                raise ValueError(
                    f"column {self.name!r}: the categories of this {self.dtype} column must be {wanted.__name__}s, "
                    f"got {wrong} (quote YAML words such as Yes/No)"
                )
        if self.category_labels is not None:
            unknown = [k for k in self.category_labels if k not in (self.categories or ())]
            if unknown:
                raise ValueError(f"column {self.name!r}: category_labels {unknown} are not among categories")
        if self.dtype in ("string", "boolean") and (self.min is not None or self.max is not None):
            raise ValueError(f"column {self.name!r}: `min`/`max` only apply to numeric columns")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name!r}: min {self.min} is greater than max {self.max}")
        if self.categories and len(set(self.categories)) != len(self.categories):
            raise ValueError(f"column {self.name!r}: duplicate categories")
        return self

    @property
    def is_numeric(self) -> bool:
        return self.dtype in ("integer", "float")

    @property
    def is_categorical(self) -> bool:
        """Has a closed set of values (string categories or integer codes)."""
        return self.categories is not None

    def label_of(self, value: Category) -> str:
        """The readable name of a category for reports: its label if declared, else the value itself."""
        return (self.category_labels or {}).get(value, str(value))


class Target(Frozen):
    """The label column and which of its values is the positive class."""

    column: str = Field(min_length=1)
    dtype: Literal["string", "integer", "boolean"] = "string"
    positive_label: str | int | bool
    labels: tuple[str | int | bool, ...] = Field(min_length=2, max_length=2)

    @model_validator(mode="after")
    def _check_positive(self) -> Target:
        if self.positive_label not in self.labels:
            raise ValueError(f"target.positive_label {self.positive_label!r} is not one of labels {self.labels}")
        return self

    @property
    def negative_label(self) -> str | int | bool:
        return next(label for label in self.labels if label != self.positive_label)


class SensitiveAttribute(Frozen):
    """A column audited for fairness; numeric ones without categories are banded on the given left edges."""

    column: str
    bands: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _check_bands(self) -> SensitiveAttribute:
        if self.bands is not None and (
            len(self.bands) < 2 or any(a >= b for a, b in zip(self.bands, self.bands[1:], strict=False))
        ):
            raise ValueError(f"sensitive attribute {self.column!r}: bands must be 2+ strictly increasing edges")
        return self


class ExtraExpectation(Frozen):
    """A Great Expectations expectation beyond those the columns imply."""

    type: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)


class Contract(Frozen):
    """Columns, target, sensitive attributes and extra expectations of one dataset."""

    name: str = Field(min_length=1)
    description: str = ""
    source: str = ""
    min_rows: int = Field(default=1, ge=1)
    target: Target
    columns: tuple[Column, ...] = Field(min_length=1)
    id_columns: tuple[str, ...] = ()
    sensitive_attributes: tuple[SensitiveAttribute, ...] = ()
    extra_expectations: tuple[ExtraExpectation, ...] = ()

    @model_validator(mode="after")
    def _check_references(self) -> Contract:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("columns: duplicate column names")
        if self.target.column in names:
            raise ValueError(f"target.column {self.target.column!r} must not also be listed in columns")
        for ident in self.id_columns:
            if ident not in names:
                raise ValueError(f"id_columns: {ident!r} is not a declared column")
        by_name = {c.name: c for c in self.columns}
        for attr in self.sensitive_attributes:
            col = by_name.get(attr.column)
            if col is None:
                raise ValueError(f"sensitive_attributes: {attr.column!r} is not a declared column")
            if col.is_numeric and not col.is_categorical and attr.bands is None:
                raise ValueError(f"sensitive_attributes: numeric column {attr.column!r} needs `bands`")
            if attr.bands is not None and (col.is_categorical or not col.is_numeric):
                raise ValueError(
                    f"sensitive_attributes: {attr.column!r} has categories; `bands` only apply to numeric columns"
                )
        if not self.feature_columns:
            raise ValueError("columns: no column is a feature")
        return self

    @cached_property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    @property
    def all_columns(self) -> list[str]:
        """Every column the data file must have, in contract order, target last."""
        return [c.name for c in self.columns] + [self.target.column]

    @property
    def feature_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.feature and c.name not in self.id_columns)

    @property
    def numeric_features(self) -> list[str]:
        return [c.name for c in self.feature_columns if c.is_numeric or c.dtype == "boolean"]

    @property
    def categorical_features(self) -> list[str]:
        return [c.name for c in self.feature_columns if c.dtype == "string"]


def load_contract(path: Path = DEFAULT_CONTRACT_PATH) -> Contract:
    """Load and validate the contract; a ConfigError names the file and field on any problem."""
    return load_model(path, Contract)
