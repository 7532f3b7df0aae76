"""Typed, frozen view of params.yaml, validated at load with errors naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from model.core.yaml_config import Frozen, load_model

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


class FairnessParams(Frozen):
    """The fairness audit (always on the whole held-out split)."""

    min_group_size: int = Field(ge=1)
    intersection: bool


class ExplainParams(Frozen):
    """SHAP on a bounded sample, so the cost does not grow with the data."""

    sample_size: int = Field(ge=10)
    agnostic_sample_size: int = Field(ge=10)
    background_size: int = Field(ge=10)
    seed: int = Field(ge=0)


class MetricBound(Frozen):
    """An absolute floor (`min`) and/or ceiling (`max`) for one held-out metric."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check(self) -> MetricBound:
        if self.min is None and self.max is None:
            raise ValueError("give `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class FairnessMaxima(Frozen):
    demographic_parity_difference: float = Field(ge=0.0, le=1.0)
    equalized_odds_difference: float = Field(ge=0.0, le=1.0)


class FairnessGates(Frozen):
    """Maxima per sensitive attribute: `default`, overridden by `per_attribute`; `intersection` gates the
    intersection of all sensitive attributes (null: reported, not gated)."""

    default: FairnessMaxima
    per_attribute: dict[str, FairnessMaxima] = Field(default_factory=dict)
    intersection: FairnessMaxima | None = None

    def maxima_for(self, attribute: str) -> FairnessMaxima:
        return self.per_attribute.get(attribute, self.default)


class LatencyGate(Frozen):
    budget_ms: float = Field(gt=0.0)
    repeats: int = Field(ge=1)
    warmup: int = Field(ge=0)


class InvarianceCheck(Frozen):
    """Changing `column` to any other value must not move any prediction by more than `max_abs_change`."""

    column: str = Field(min_length=1)
    max_abs_change: float = Field(ge=0.0, le=1.0)


class DirectionalCheck(Frozen):
    """Shifting a numeric `column` by `shift`, or setting a categorical one `from` a value `to` another, must move
    the mean probability of the positive label in the `expect`ed direction by at least `min_mean_change`."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    column: str = Field(min_length=1)
    expect: Literal["increase", "decrease"]
    shift: float | None = None
    from_value: str | int | None = Field(default=None, alias="from")
    to_value: str | int | None = Field(default=None, alias="to")
    min_mean_change: float = Field(gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self) -> DirectionalCheck:
        numeric = self.shift is not None
        categorical = self.from_value is not None or self.to_value is not None
        if numeric == categorical:
            raise ValueError("give either `shift` (numeric column) or `from` and `to` (categorical column)")
        if categorical and (self.from_value is None or self.to_value is None or self.from_value == self.to_value):
            raise ValueError("`from` and `to` must both be given and differ")
        if numeric and self.shift == 0:
            raise ValueError("`shift` must not be 0")
        return self

    @property
    def change(self) -> str:
        """The perturbation in words, e.g. `+1` or `No -> Yes`."""
        return f"{self.shift:+g}" if self.shift is not None else f"{self.from_value} -> {self.to_value}"


class BehaviourGates(Frozen):
    invariance: tuple[InvarianceCheck, ...] = ()
    directional: tuple[DirectionalCheck, ...] = ()


class GatesParams(Frozen):
    """Thresholds of the quality gates (ci/gates.py); `advisory` lists gates (or gate families) that report
    without blocking."""

    champion_overlay: str = Field(min_length=1)  # the production overlay directory holding release.json
    advisory: tuple[str, ...] = ()
    metrics: dict[str, MetricBound] = Field(default_factory=dict)
    regression: dict[str, float] = Field(default_factory=dict)
    fairness: FairnessGates
    model_size_mb: float = Field(gt=0.0)
    latency: LatencyGate
    behaviour: BehaviourGates = Field(default_factory=BehaviourGates)

    @model_validator(mode="after")
    def _check(self) -> GatesParams:
        negative = {k: v for k, v in self.regression.items() if v < 0}
        if negative:
            raise ValueError(f"regression: allowed worsening must be >= 0, got {negative}")
        return self


class ReportParams(Frozen):
    """What the model card says in words, and how much the reports show."""

    intended_use: str = Field(min_length=1)
    limitations: tuple[str, ...] = ()
    top_features: int = Field(ge=1)


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
    fairness: FairnessParams
    explain: ExplainParams
    gates: GatesParams
    report: ReportParams
    monitor: MonitorParams


def load_params(path: Path = DEFAULT_PARAMS_PATH) -> Params:
    """Load and validate params.yaml; a ConfigError names the file and field on any problem."""
    return load_model(path, Params)
