"""Turn a validated frame into model inputs using only the contract (no column name is written in code)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.core.contract import Contract

PANDAS_DTYPES = {"integer": "int64", "float": "float64", "string": "str", "boolean": "bool"}


def typed(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Cast every contract column to its declared dtype (the data has passed validation, so casts succeed)."""
    casts = {c.name: PANDAS_DTYPES[c.dtype] for c in contract.columns if c.name in frame.columns}
    if contract.target.column in frame.columns:
        casts[contract.target.column] = PANDAS_DTYPES[contract.target.dtype]
    return frame.astype(casts)


def features(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """The model's input columns, in contract order."""
    return frame[[c.name for c in contract.feature_columns]]


def labels(frame: pd.DataFrame, contract: Contract) -> np.ndarray:
    """1 for the contract's positive label, 0 otherwise."""
    target = contract.target
    return (frame[target.column] == target.positive_label).to_numpy(dtype=np.int64)
