"""The scikit-learn Pipeline: preprocessing inside the model, so serving applies exactly the training transform."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from model.core.contract import Contract
from model.core.params import TrainParams


def build_pipeline(contract: Contract, params: TrainParams) -> Pipeline:
    """One-hot categoricals (unknown levels ignored), scale numerics for linear models, then the estimator."""
    linear = params.estimator == "logistic_regression"
    numeric = StandardScaler() if linear else "passthrough"
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric, contract.numeric_features),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                contract.categorical_features,
            ),
        ],
        verbose_feature_names_out=False,
    )
    estimator_params = params.estimator_params()
    if linear:
        estimator = LogisticRegression(random_state=params.seed, **estimator_params)
    else:
        estimator = HistGradientBoostingClassifier(random_state=params.seed, **estimator_params)
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])
