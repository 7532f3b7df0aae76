"""The fast prediction paths give exactly the pipeline's probabilities, and are dropped when they would not."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from model.serve import predictor as predictor_module
from model.serve.predictor import Predictor
from model.serve.trees import CompiledTrees
from tests.model.serve.training import TrainedModel, train_model


@pytest.fixture(scope="module")
def logistic(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    return train_model(tmp_path_factory.mktemp("logistic"), estimator="logistic_regression")


def build(model: TrainedModel, pipeline: Any = None) -> Predictor:
    return Predictor(model.pipeline if pipeline is None else pipeline, model.contract, model.record.classes)


def assert_same_as_pipeline(
    predictor: Predictor, model: TrainedModel, pipeline: Any = None, exact: bool = True
) -> None:
    """On the whole held-out split: all rows at once, in compiled-size chunks, and one row at a time.

    All at once must be bit-for-bit. Chunks and single rows are compared with the pipeline's whole-split
    answer: exact for the trees, within 1e-12 for a linear model, whose own BLAS product already differs by
    an ulp between a one-row and a many-row call (so does `pipeline.predict_proba` itself).
    """
    expected = (model.pipeline if pipeline is None else pipeline).predict_proba(model.x_test)
    rows = model.instances()
    np.testing.assert_array_equal(predictor.predict_proba(rows), expected)
    chunked = np.concatenate([predictor.predict_proba(rows[i : i + 32]) for i in range(0, len(rows), 32)])
    single = np.concatenate([predictor.predict_proba([row]) for row in rows])
    for got in (chunked, single):
        if exact:
            np.testing.assert_array_equal(got, expected)
        else:
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_gradient_boosting_uses_the_compiled_trees_and_matches_exactly(trained: TrainedModel) -> None:
    predictor = build(trained)
    assert predictor.strategy == "compiled-trees"
    assert_same_as_pipeline(predictor, trained)


def test_labels_match_the_pipeline(trained: TrainedModel) -> None:
    prediction = build(trained).predict(trained.instances())
    expected = [trained.record.classes[str(c)] for c in trained.pipeline.predict(trained.x_test)]
    assert prediction.labels == expected
    np.testing.assert_array_equal(prediction.probabilities, trained.pipeline.predict_proba(trained.x_test)[:, 1])


def test_logistic_regression_uses_the_array_path_and_matches_exactly(logistic: TrainedModel) -> None:
    predictor = build(logistic)
    assert predictor.strategy == "array"  # no trees to compile; the scaler and one-hot are replayed
    assert_same_as_pipeline(predictor, logistic, exact=False)


def test_unknown_transformer_falls_back_to_the_pipeline(trained: TrainedModel) -> None:
    contract = trained.contract
    preprocess = ColumnTransformer(
        [("numeric", SimpleImputer(), contract.numeric_features)], remainder="drop", verbose_feature_names_out=False
    )
    pipeline = Pipeline([("preprocess", preprocess), ("estimator", LogisticRegression(max_iter=500))])
    pipeline.fit(trained.x_test, (trained.test[contract.target.column] == contract.target.positive_label).astype(int))
    predictor = build(trained, pipeline)
    assert predictor.strategy == "pipeline"
    np.testing.assert_array_equal(
        predictor.predict_proba(trained.instances()[:10]), pipeline.predict_proba(trained.x_test.head(10))
    )


def test_a_fast_path_that_disagrees_is_not_used(trained: TrainedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up self-check is what makes the fast path safe: a wrong compilation must be caught by it."""
    real = predictor_module.compile_trees

    def off_by_a_little(estimator: Any) -> CompiledTrees:
        compiled = real(estimator)
        return dataclasses.replace(compiled, baseline=compiled.baseline + 1e-9)

    monkeypatch.setattr(predictor_module, "compile_trees", off_by_a_little)
    predictor = build(trained)
    assert predictor.strategy == "array"
    assert_same_as_pipeline(predictor, trained)


def test_probe_rows_respect_the_contract(trained: TrainedModel) -> None:
    rows = predictor_module.probe_rows(trained.contract)
    for column in trained.contract.feature_columns:
        values = [row[column.name] for row in rows]
        if column.categories:
            assert set(values) == set(column.categories)
        else:
            assert min(values) == column.min
            assert max(values) == column.max


def test_model_dir_is_untouched(trained: TrainedModel) -> None:
    assert sorted(p.name for p in Path(trained.model_dir).iterdir()) == ["contract.yaml", "model.json", "model.skops"]


@pytest.mark.parametrize("rows", [1, 5, 32, 200])
def test_compiled_trees_follow_missing_values_like_scikit_learn(trained: TrainedModel, rows: int) -> None:
    """A nullable numeric column sends NaN through the trees: each node's learned missing-value side is kept."""
    estimator = trained.pipeline.steps[-1][1]
    x = trained.pipeline.steps[0][1].transform(trained.x_test.head(rows)).copy()
    x[::2, 0] = np.nan
    x[1::3, 1] = np.nan
    compiled = predictor_module.compile_trees(estimator)
    np.testing.assert_array_equal(compiled.predict_proba(x), estimator.predict_proba(x))
