"""An `ingest.loader` for the scaling benchmark: the project's own loader, resampled with replacement to `rows`.

    ingest:
      loader: benchmarks.resampled:load
      loader_kwargs: {rows: 1000000, loader: "sklego.datasets:load_arrests", loader_kwargs: {as_frame: true}}

Resampling keeps every column's distribution and the contract's categories and ranges, so every stage does the
work it would do on real data of that size (duplicated rows make the model no better, which is not the point).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from model.core.params import IngestParams
from model.stages.ingest import load_frame


def load(rows: int, loader: str, loader_kwargs: dict[str, Any] | None = None, seed: int = 0) -> pd.DataFrame:
    base = load_frame(IngestParams(loader=loader, loader_kwargs=loader_kwargs or {}))
    return base.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
