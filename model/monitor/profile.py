"""The training reference, summarised: what each feature, the predicted score and the label looked like when
the model was trained, and the model's held-out metrics. Small enough to keep in git and bake into the image
(models/reference.json), so the monitor needs neither the training data nor the pipeline to run."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from model.core.contract import Contract
from model.core.errors import ConfigError
from model.core.io import read_json, write_json
from model.monitor import stats

SCHEMA_VERSION = 1
#: The bucket for values outside a categorical feature's contract levels (a new category is drift too).
OTHER = "(other)"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NumericProfile(_Model):
    """Reference-quantile bins (right-closed, open at both ends) and ECDF points for the KS test."""

    kind: Literal["numeric"] = "numeric"
    rows: int
    edges: list[float]
    counts: list[int]
    ecdf_values: list[float]
    ecdf_counts: list[int]

    def bin_labels(self) -> list[str]:
        bounds = ["-inf", *(f"{e:.4g}" for e in self.edges), "inf"]
        return [f"({low}, {high}]" for low, high in itertools.pairwise(bounds)]


class CategoricalProfile(_Model):
    """Counts per level, the last one being OTHER."""

    kind: Literal["categorical"] = "categorical"
    rows: int
    levels: list[str]
    counts: list[int]


class ReferenceProfile(_Model):
    schema_version: int = SCHEMA_VERSION
    source: str
    rows: int
    model_sha256: str | None
    data_hash: str | None
    threshold: float
    features: dict[str, NumericProfile | CategoricalProfile]
    prediction: NumericProfile | None
    label: CategoricalProfile | None
    metrics: dict[str, float]


def numeric_profile(values: np.ndarray, bins: int, points: int) -> NumericProfile:
    values = values[~np.isnan(values)]
    edges = stats.quantile_edges(values, bins)
    ecdf_values, ecdf_counts = stats.ecdf_points(values, points)
    return NumericProfile(
        rows=int(values.size),
        edges=edges.tolist(),
        counts=stats.bin_counts(values, edges).tolist(),
        ecdf_values=ecdf_values.tolist(),
        ecdf_counts=ecdf_counts.tolist(),
    )


def level_counts(values: pd.Series, levels: list[str]) -> np.ndarray:
    """Counts per contract level, then everything else (not missing) in OTHER."""
    present = values.dropna()
    counts = present.value_counts()
    known = np.array([int(counts.get(level, 0)) for level in levels])
    return np.append(known, present.size - known.sum())


def categorical_profile(values: pd.Series, levels: list[str]) -> CategoricalProfile:
    counts = level_counts(values, levels)
    return CategoricalProfile(rows=int(counts.sum()), levels=[*levels, OTHER], counts=counts.tolist())


def build_profile(
    frame: pd.DataFrame,
    contract: Contract,
    *,
    bins: int,
    points: int,
    probabilities: np.ndarray | None,
    metrics: dict[str, float],
    threshold: float,
    source: str,
    model_sha256: str | None = None,
    data_hash: str | None = None,
) -> ReferenceProfile:
    """Profile a (valid, typed) training frame and the model's scores on it."""
    features: dict[str, NumericProfile | CategoricalProfile] = {}
    for column in contract.feature_columns:
        if column.dtype == "string":
            features[column.name] = categorical_profile(frame[column.name], [str(c) for c in column.categories or ()])
        else:
            features[column.name] = numeric_profile(frame[column.name].to_numpy(dtype=float), bins, points)
    target = contract.target
    label = None
    if target.column in frame.columns:
        label = categorical_profile(frame[target.column].astype(str), [str(v) for v in target.labels])
    return ReferenceProfile(
        source=source,
        rows=len(frame),
        model_sha256=model_sha256,
        data_hash=data_hash,
        threshold=threshold,
        features=features,
        prediction=numeric_profile(probabilities, bins, points) if probabilities is not None else None,
        label=label,
        metrics=metrics,
    )


def save_profile(path: Path, profile: ReferenceProfile) -> None:
    write_json(path, profile.model_dump(mode="json"))


def load_profile(path: Path, contract: Contract) -> ReferenceProfile:
    """Read a profile and check it covers the contract's features; a ConfigError names what is wrong."""
    if not path.exists():
        raise ConfigError(f"{path}: reference profile not found (build it: `dvc repro monitor_reference`)")
    try:
        data: Any = read_json(path)
        profile = ReferenceProfile.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"{path}: not a valid reference profile: {str(exc).splitlines()[0]}") from exc
    if profile.schema_version != SCHEMA_VERSION:
        raise ConfigError(f"{path}: schema_version {profile.schema_version}, expected {SCHEMA_VERSION}")
    expected = {c.name for c in contract.feature_columns}
    if set(profile.features) != expected:
        raise ConfigError(
            f"{path}: profiles features {sorted(profile.features)}, the contract's are {sorted(expected)}; "
            "rebuild it (`dvc repro monitor_reference`)"
        )
    return profile
