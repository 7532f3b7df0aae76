"""The `explain` stage: global SHAP importance per original feature, on a bounded sample of the held-out split.

SHAP values are computed for the final estimator on the preprocessed matrix (a tree explainer does not take a
scikit-learn Pipeline), then the columns a feature expanded into (one-hot levels) are summed back row by row, so
each original feature gets one value per row. Importance is the mean absolute value, in log-odds of the positive
label. The tree explainer handles the default gradient-boosting model exactly and fast; any other estimator falls
back to shap's model-agnostic permutation explainer on the same log-odds, on a smaller sample (it scores about
500 x background rows per explained row).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core import paths
from model.core.contract import Contract
from model.core.dataset import features
from model.core.errors import LighthouseError
from model.core.io import write_json
from model.core.params import ExplainParams
from model.core.plotting import clear_pngs, pyplot, save_png
from model.stages.stage_inputs import load_held_out

DECIMALS = 6
SCALE = "log-odds of the positive label"
BAR_PLOT = "shap_bar.png"
BEESWARM_PLOT = "shap_beeswarm.png"


class ExplainError(LighthouseError):
    """The model cannot be explained the way this stage expects."""


@dataclass(frozen=True)
class Attribution:
    """SHAP values per row and original feature, with the data that colours the beeswarm."""

    explainer: str
    values: np.ndarray  # rows x original features
    data: np.ndarray  # the same shape: numeric value, or category code
    features: list[str]
    base_value: float


def split_pipeline(model: Any) -> tuple[Any, Any]:
    """(preprocessor, estimator) of a two-step scikit-learn Pipeline, as model/core/pipeline.py builds it."""
    steps = getattr(model, "steps", None)
    if not steps or len(steps) != 2 or not hasattr(steps[0][1], "transform"):
        raise ExplainError(
            "explain: expected a Pipeline(preprocess, estimator) as model/core/pipeline.py builds, "
            f"got {type(model).__name__}"
        )
    return steps[0][1], steps[1][1]


def source_features(preprocess: Any, inputs: list[str]) -> list[str]:
    """For each column the preprocessor outputs, the input feature it came from.

    A ColumnTransformer names its outputs after their input (`age`, `sex_Male`): within each transformer's slice
    the longest input name that the output equals or prefixes (followed by `_`) wins.
    """
    names = [str(n) for n in preprocess.get_feature_names_out()]
    owners: list[str | None] = [None] * len(names)
    spans = getattr(preprocess, "output_indices_", None)
    groups: list[tuple[slice, list[str]]] = []
    if spans is not None:
        for name, _, columns in preprocess.transformers_:
            if name in spans and isinstance(columns, list | tuple):
                groups.append((spans[name], [str(c) for c in columns]))
    else:
        groups.append((slice(0, len(names)), inputs))
    for span, candidates in groups:
        for index in range(*span.indices(len(names))):
            output = names[index]
            matches = [c for c in candidates if output == c or output.startswith(f"{c}_")]
            if matches:
                owners[index] = max(matches, key=len)
    unmapped = [n for n, o in zip(names, owners, strict=True) if o is None]
    if unmapped:
        raise ExplainError(f"explain: cannot tell which input feature produced output column(s) {unmapped}")
    return [o for o in owners if o is not None]


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(np.log(clipped / (1 - clipped)))


def _tree_explainer(estimator: Any) -> Any | None:
    """shap's exact tree explainer for `estimator`, or None when shap has none for it."""
    import shap

    try:
        return shap.TreeExplainer(estimator)
    except Exception:  # shap raises a bare Exception ("Model type not yet supported") for other estimators
        return None


def _permutation_values(estimator: Any, rows: np.ndarray, background: np.ndarray, seed: int) -> Any:
    """Model-agnostic SHAP values of the estimator's log-odds, masking with `background` rows."""
    import shap

    def log_odds(batch: np.ndarray) -> np.ndarray:
        return _logit(estimator.predict_proba(batch)[:, 1])

    masker = shap.maskers.Independent(background, max_samples=len(background))
    return shap.PermutationExplainer(log_odds, masker, seed=seed)(rows, silent=True)


def attribute(model: Any, frame: pd.DataFrame, contract: Contract, params: ExplainParams) -> Attribution:
    """SHAP values per original feature on a seeded sample of `frame` (the held-out split)."""
    preprocess, estimator = split_pipeline(model)
    inputs = features(frame, contract)
    owners = source_features(preprocess, list(inputs.columns))
    rng = np.random.default_rng(params.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shap and numba warn about deprecations on import
        tree = _tree_explainer(estimator)
    size = min(len(inputs), params.sample_size if tree is not None else params.agnostic_sample_size)
    sample = inputs.iloc[np.sort(rng.choice(len(inputs), size=size, replace=False))]
    transformed = np.asarray(preprocess.transform(sample), dtype=float)
    if tree is not None:
        kind, explanation = "tree", tree(transformed, check_additivity=False)
    else:
        picked = rng.choice(len(inputs), size=min(len(inputs), params.background_size), replace=False)
        background = np.asarray(preprocess.transform(inputs.iloc[np.sort(picked)]), dtype=float)
        kind, explanation = "permutation", _permutation_values(estimator, transformed, background, params.seed)
    raw = np.asarray(explanation.values, dtype=float)
    if raw.ndim == 3:  # some explainers return one slice per class: keep the positive one
        raw = raw[:, :, -1]
    base = np.asarray(explanation.base_values, dtype=float).reshape(len(raw), -1)[:, -1]
    names = list(inputs.columns)
    values = np.column_stack([raw[:, [i for i, o in enumerate(owners) if o == name]].sum(axis=1) for name in names])
    return Attribution(kind, values, _colour_data(sample, contract), names, float(np.mean(base)))


def _colour_data(sample: pd.DataFrame, contract: Contract) -> np.ndarray:
    """Numeric features as they are, categorical ones as their category's position in the contract."""
    columns = []
    for name in sample.columns:
        column = contract.by_name[name]
        if column.dtype == "string" and column.categories is not None:
            position = {c: float(i) for i, c in enumerate(column.categories)}
            columns.append(sample[name].map(position).to_numpy(dtype=float))
        else:
            columns.append(sample[name].to_numpy(dtype=float))
    return np.column_stack(columns)


def importance(attribution: Attribution) -> list[dict[str, Any]]:
    """Features by mean |SHAP|, largest first, with their share of the total and their mean signed value."""
    mean_abs = np.abs(attribution.values).mean(axis=0)
    total = float(mean_abs.sum()) or 1.0
    order = sorted(range(len(attribution.features)), key=lambda i: (-mean_abs[i], attribution.features[i]))
    return [
        {
            "rank": rank,
            "feature": attribution.features[i],
            "mean_abs_shap": round(float(mean_abs[i]), DECIMALS),
            "mean_shap": round(float(attribution.values[:, i].mean()), DECIMALS),
            "share": round(float(mean_abs[i]) / total, DECIMALS),
        }
        for rank, i in enumerate(order, start=1)
    ]


def report(attribution: Attribution, rows_available: int, params: ExplainParams) -> dict[str, Any]:
    return {
        "explainer": attribution.explainer,
        "scale": SCALE,
        "sample_size": len(attribution.values),
        "rows_available": rows_available,
        "seed": params.seed,
        "base_value": round(attribution.base_value, DECIMALS),
        "features": importance(attribution),
    }


def write_plots(attribution: Attribution, directory: Path) -> list[Path]:
    """A bar chart of mean |SHAP| and a beeswarm of every sampled row, per original feature."""
    import shap

    plt = pyplot()
    clear_pngs(directory)
    explanation = shap.Explanation(
        values=attribution.values,
        base_values=np.full(len(attribution.values), attribution.base_value),
        data=attribution.data,
        feature_names=attribution.features,
    )
    written = []
    for name, draw in ((BAR_PLOT, shap.plots.bar), (BEESWARM_PLOT, shap.plots.beeswarm)):
        plt.figure()
        draw(explanation, show=False, max_display=len(attribution.features))
        figure = plt.gcf()
        figure.suptitle(f"SHAP ({attribution.explainer} explainer, {len(attribution.values)} rows, log-odds)")
        save_png(figure, directory / name)
        written.append(directory / name)
    return written


def _log_to_mlflow(run_id: str, experiment: str) -> None:
    from model.core.tracking import configure, training_run

    mlflow = configure(experiment)
    with training_run(mlflow, run_id, "explain"):
        mlflow.log_artifact(str(paths.EXPLAIN_REPORT))
        mlflow.log_artifacts(str(paths.EXPLAIN_PLOTS), artifact_path="plots/explain")


def main() -> int:
    try:
        held_out = load_held_out()
        contract, params, model, record, test = (
            held_out.contract,
            held_out.params,
            held_out.model,
            held_out.record,
            held_out.test,
        )
        attribution = attribute(model, test, contract, params.explain)
    except LighthouseError as exc:
        print(f"explain: {exc}", file=sys.stderr)
        return 2
    result = report(attribution, len(test), params.explain)
    write_json(paths.EXPLAIN_REPORT, result)
    write_json(
        paths.SHAP_IMPORTANCE_PLOT,
        [{"feature": f["feature"], "mean_abs_shap": f["mean_abs_shap"]} for f in result["features"]],
    )
    write_plots(attribution, paths.EXPLAIN_PLOTS)
    if record.mlflow_run_id:
        _log_to_mlflow(record.mlflow_run_id, params.tracking.experiment)
    top = ", ".join(f"{f['feature']}={f['mean_abs_shap']:.3f}" for f in result["features"][:5])
    print(f"explain: {attribution.explainer} explainer on {result['sample_size']} rows; mean |SHAP|: {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
