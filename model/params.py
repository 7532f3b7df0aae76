"""Typed, frozen view of params.yaml, validated at load with errors naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from model.yaml_config import Frozen, load_model

DEFAULT_PARAMS_PATH = Path("params.yaml")


class IngestParams(Frozen):
    loader: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    loader_kwargs: dict[str, Any] = Field(default_factory=dict)


class SplitParams(Frozen):
    test_size: float = Field(gt=0.0, lt=1.0)
    seed: int = Field(ge=0)


class HistGradientBoostingParams(Frozen):
    learning_rate: float = Field(gt=0.0, le=1.0)
    max_iter: int = Field(ge=1)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: int = Field(ge=1)
    l2_regularization: float = Field(ge=0.0)


class LogisticRegressionParams(Frozen):
    C: float = Field(gt=0.0)
    max_iter: int = Field(ge=1)


class TrainParams(Frozen):
    estimator: Literal["hist_gradient_boosting", "logistic_regression"]
    seed: int = Field(ge=0)
    hist_gradient_boosting: HistGradientBoostingParams
    logistic_regression: LogisticRegressionParams

    def estimator_params(self) -> dict[str, Any]:
        """The hyper-parameters of the chosen estimator only."""
        chosen: Frozen = getattr(self, self.estimator)
        return chosen.model_dump()


class EvaluateParams(Frozen):
    threshold: float = Field(gt=0.0, lt=1.0)
    calibration_bins: int = Field(ge=2, le=100)


class TrackingParams(Frozen):
    experiment: str = Field(min_length=1)
    registered_model: str = Field(min_length=1)


class MonitorReferenceParams(Frozen):
    """How the training reference is summarised (models/reference.json, the `monitor_reference` stage)."""

    bins: int = Field(ge=2, le=100)  # quantile bins for numeric features and predicted scores
    points: int = Field(ge=100)  # at most this many (value, count) points per numeric ECDF, for the KS test


class MonitorParams(Frozen):
    """Drift, data-quality and performance thresholds of `python -m model.monitor` (docs/monitoring.md)."""

    reference: MonitorReferenceParams
    psi_warn: float = Field(gt=0.0)
    psi_alert: float = Field(gt=0.0)
    psi_floor: float = Field(gt=0.0, lt=0.01)  # share given to an empty bin, so a PSI stays finite
    p_value: float = Field(gt=0.0, lt=1.0)  # a difference counts only when its test is significant at this level
    min_rows: int = Field(ge=1)  # fewer rows in a window: not enough evidence to judge (exit 3)
    quality_warn: float = Field(ge=0.0, le=1.0)  # share of a column's values breaking the contract
    quality_alert: float = Field(ge=0.0, le=1.0)
    min_labelled_rows: int = Field(ge=1)  # fewer labelled rows: performance is not judged
    metric: str = Field(min_length=1)  # the metric whose drop from reports/metrics.json is judged
    metric_drop_warn: float = Field(gt=0.0)
    metric_drop_alert: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _check_order(self) -> MonitorParams:
        for name in ("psi", "quality", "metric_drop"):
            warn, alert = getattr(self, f"{name}_warn"), getattr(self, f"{name}_alert")
            if warn > alert:
                raise ValueError(f"{name}_warn ({warn}) must not exceed {name}_alert ({alert})")
        return self


class Params(Frozen):
    ingest: IngestParams
    split: SplitParams
    train: TrainParams
    evaluate: EvaluateParams
    tracking: TrackingParams
    monitor: MonitorParams


def load_params(path: Path = DEFAULT_PARAMS_PATH) -> Params:
    """Load and validate params.yaml; a ConfigError names the file and field on any problem."""
    return load_model(path, Params)
