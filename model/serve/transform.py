"""The fitted ColumnTransformer, replayed on plain Python rows without building a DataFrame.

Most of the cost of predicting one row with the pipeline is the ColumnTransformer on a one-row DataFrame.
`compile_transform` reads what the fitted transformer learned (which columns pass through, a scaler's mean and
scale, a one-hot encoder's `categories_`) and writes the same float64 matrix straight from the validated
instances. It understands only what it can reproduce exactly and raises `UnsupportedModelError` for anything else; the
predictor then checks the result against the pipeline before trusting it (see predictor.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


class UnsupportedModelError(Exception):
    """The fitted object holds a step the fast path cannot reproduce exactly."""


@dataclass(frozen=True)
class _Scaled:
    """A StandardScaler block: output columns, and the operations sklearn applies to them."""

    columns: np.ndarray
    mean: np.ndarray | None
    scale: np.ndarray | None


@dataclass(frozen=True)
class ArrayTransform:
    """Rows (mappings of column -> value) to the matrix the final estimator was fitted on."""

    width: int
    numeric: tuple[tuple[str, int], ...]
    categorical: tuple[tuple[str, Mapping[Any, int]], ...]
    scaled: tuple[_Scaled, ...]

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        n = len(rows)
        out = np.zeros((n, self.width), dtype=np.float64)
        for name, column in self.numeric:
            # None (a nullable column left empty) becomes NaN, as it does in a float DataFrame column.
            out[:, column] = np.fromiter((_number(row.get(name)) for row in rows), dtype=np.float64, count=n)
        for name, slots in self.categorical:
            hits = [(i, slots[value]) for i, row in enumerate(rows) if (value := row.get(name)) in slots]
            if hits:
                index = np.array(hits, dtype=np.intp)
                out[index[:, 0], index[:, 1]] = 1.0
        for block in self.scaled:
            values = out[:, block.columns]
            if block.mean is not None:
                values -= block.mean
            if block.scale is not None:
                values /= block.scale
            out[:, block.columns] = values
        return out


def _number(value: Any) -> float:
    return np.nan if value is None else float(value)


def _column_names(columns: Any, feature_names: Sequence[str]) -> list[str]:
    """A transformer's columns as names (sklearn also allows indices, masks, slices and callables)."""
    values = list(columns) if isinstance(columns, list | tuple | np.ndarray) else None
    if values is None:
        raise UnsupportedModelError(f"column selector {columns!r}")
    if all(isinstance(v, str) for v in values):
        return [str(v) for v in values]
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
        return [feature_names[int(v)] for v in values]
    raise UnsupportedModelError(f"column selector {columns!r}")


def compile_transform(preprocess: Any) -> ArrayTransform:
    """Build the fast equivalent of a fitted ColumnTransformer, or raise UnsupportedModelError saying why."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if type(preprocess) is not ColumnTransformer:
        raise UnsupportedModelError(f"preprocessing step is {type(preprocess).__name__}, not a ColumnTransformer")
    if getattr(preprocess, "sparse_output_", False):
        raise UnsupportedModelError("the ColumnTransformer produces a sparse matrix")
    feature_names = [str(n) for n in preprocess.feature_names_in_]
    numeric: list[tuple[str, int]] = []
    categorical: list[tuple[str, Mapping[Any, int]]] = []
    scaled: list[_Scaled] = []
    width = 0
    for name, transformer, columns in preprocess.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        names = _column_names(columns, feature_names)
        out = preprocess.output_indices_[name]
        start, stop = out.start, out.stop
        width = max(width, stop)
        # A fitted ColumnTransformer holds "passthrough" as an identity FunctionTransformer.
        identity = transformer == "passthrough" if isinstance(transformer, str) else _is_identity(transformer)
        if identity or type(transformer) is StandardScaler:
            if stop - start != len(names):
                raise UnsupportedModelError(f"transformer {name!r}: {len(names)} columns in, {stop - start} out")
            numeric.extend((col, start + i) for i, col in enumerate(names))
            if type(transformer) is StandardScaler:
                scaled.append(
                    _Scaled(
                        columns=np.arange(start, stop),
                        mean=transformer.mean_ if transformer.with_mean else None,
                        scale=transformer.scale_ if transformer.with_std else None,
                    )
                )
        elif type(transformer) is OneHotEncoder:
            categorical.extend(_one_hot(name, transformer, names, start, stop))
        else:
            raise UnsupportedModelError(f"transformer {name!r} is {type(transformer).__name__}")
    if width != len(preprocess.get_feature_names_out()):
        raise UnsupportedModelError(
            f"output width {width} differs from the transformer's {len(preprocess.get_feature_names_out())}"
        )
    return ArrayTransform(width, tuple(numeric), tuple(categorical), tuple(scaled))


def _is_identity(transformer: Any) -> bool:
    from sklearn.preprocessing import FunctionTransformer

    return type(transformer) is FunctionTransformer and transformer.func is None


def _one_hot(name: str, encoder: Any, columns: list[str], start: int, stop: int) -> list[tuple[str, Mapping[Any, int]]]:
    """Column -> {category: output column} for a plain one-hot encoder (unknown categories -> all zeros)."""
    if encoder.handle_unknown != "ignore":
        raise UnsupportedModelError(f"encoder {name!r}: handle_unknown={encoder.handle_unknown!r}")
    if encoder.drop_idx_ is not None or getattr(encoder, "_infrequent_enabled", False):
        raise UnsupportedModelError(f"encoder {name!r} drops or groups categories")
    if np.dtype(encoder.dtype) != np.float64:
        raise UnsupportedModelError(f"encoder {name!r}: dtype {encoder.dtype}")
    if len(columns) != len(encoder.categories_):
        raise UnsupportedModelError(
            f"encoder {name!r}: {len(columns)} columns, {len(encoder.categories_)} category lists"
        )
    mapped: list[tuple[str, Mapping[Any, int]]] = []
    position = start
    for column, categories in zip(columns, encoder.categories_, strict=True):
        values = categories.tolist()
        if any(v is None or (isinstance(v, float) and v != v) for v in values):
            raise UnsupportedModelError(f"encoder {name!r}: column {column!r} has a missing-value category")
        mapped.append((column, {v: position + i for i, v in enumerate(values)}))
        position += len(values)
    if position != stop:
        raise UnsupportedModelError(f"encoder {name!r}: {position - start} categories, {stop - start} output columns")
    return mapped
