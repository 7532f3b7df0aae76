"""SHAP importance per original feature: one-hot columns summed back exactly, a bounded sample, the tree
explainer for the default model and the model-agnostic fallback for another estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.core.contract import Contract
from model.core.params import ExplainParams, TrainParams
from model.core.pipeline import build_pipeline
from model.stages.explain import ExplainError, attribute, importance, report, source_features, write_plots

CONTRACT = Contract.model_validate(
    {
        "name": "t",
        "target": {"column": "y", "dtype": "integer", "positive_label": 1, "labels": [0, 1]},
        "columns": [
            {"name": "signal", "dtype": "float"},
            {"name": "noise", "dtype": "float"},
            {"name": "colour", "dtype": "string", "categories": ["red", "green", "blue"]},
            {"name": "colour_code", "dtype": "integer"},  # a name the one-hot columns of `colour` also prefix
        ],
    }
)
TRAIN = {
    "seed": 0,
    "hist_gradient_boosting": {
        "learning_rate": 0.1,
        "max_iter": 50,
        "max_leaf_nodes": 8,
        "min_samples_leaf": 10,
        "l2_regularization": 0.0,
    },
    "logistic_regression": {"C": 1.0, "max_iter": 500},
}


def _data(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    signal = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], n)
    logit = 2.5 * signal + np.where(colour == "red", 1.5, 0.0)
    return pd.DataFrame(
        {
            "signal": signal,
            "noise": rng.normal(size=n),
            "colour": colour,
            "colour_code": rng.integers(0, 3, n),
            "y": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )


def _model(estimator: str, frame: pd.DataFrame):
    params = TrainParams.model_validate({**TRAIN, "estimator": estimator})
    return build_pipeline(CONTRACT, params).fit(frame[[c.name for c in CONTRACT.columns]], frame["y"])


def test_output_columns_map_back_to_their_input_feature() -> None:
    model = _model("hist_gradient_boosting", _data())
    owners = source_features(model.steps[0][1], [c.name for c in CONTRACT.columns])
    names = list(model.steps[0][1].get_feature_names_out())
    mapping = dict(zip(names, owners, strict=True))
    assert mapping["colour_code"] == "colour_code"
    assert mapping["colour_red"] == "colour"
    assert sorted(set(owners)) == ["colour", "colour_code", "noise", "signal"]


def test_tree_explainer_sums_one_hot_columns_exactly() -> None:
    frame = _data()
    model = _model("hist_gradient_boosting", frame)
    params = ExplainParams(sample_size=100, agnostic_sample_size=20, background_size=10, seed=3)
    attribution = attribute(model, frame, CONTRACT, params)
    assert attribution.explainer == "tree"
    assert attribution.values.shape == (100, 4)  # bounded sample, one column per original feature
    assert attribution.features == ["signal", "noise", "colour", "colour_code"]
    # Additivity survives summing one-hot columns: base + row sum == the model's log-odds for that row.
    rows = frame.iloc[np.sort(np.random.default_rng(3).choice(len(frame), 100, replace=False))]
    transformed = model.steps[0][1].transform(rows[[c.name for c in CONTRACT.columns]])
    log_odds = model.steps[1][1].decision_function(transformed)
    np.testing.assert_allclose(attribution.base_value + attribution.values.sum(axis=1), log_odds, atol=1e-6)
    ranked = [f["feature"] for f in importance(attribution)]
    assert ranked[0] == "signal"
    assert ranked.index("colour") < ranked.index("noise")


def test_other_estimators_fall_back_to_the_permutation_explainer(tmp_path) -> None:
    frame = _data(300)
    model = _model("logistic_regression", frame)
    params = ExplainParams(sample_size=1000, agnostic_sample_size=30, background_size=20, seed=0)
    attribution = attribute(model, frame, CONTRACT, params)
    assert attribution.explainer == "permutation"
    assert attribution.values.shape == (30, 4)  # the agnostic explainer's own, smaller bound
    result = report(attribution, len(frame), params)
    assert result["features"][0]["feature"] == "signal"
    assert sum(f["share"] for f in result["features"]) == pytest.approx(1.0, abs=1e-5)
    written = write_plots(attribution, tmp_path)
    assert [p.name for p in written] == ["shap_bar.png", "shap_beeswarm.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_a_model_that_is_not_the_pipeline_is_refused_clearly() -> None:
    frame = _data(100)
    model = _model("logistic_regression", frame).steps[1][1]
    with pytest.raises(ExplainError, match="expected a Pipeline"):
        attribute(
            model, frame, CONTRACT, ExplainParams(sample_size=10, agnostic_sample_size=10, background_size=10, seed=0)
        )
