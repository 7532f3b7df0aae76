"""Models trained once per session on the example data: a sound one, a crippled one and a biased one."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from model.core import paths
from model.core.contract import Contract
from model.core.params import Params
from tests.ci import crafted


@dataclass(frozen=True)
class Example:
    contract_dict: dict[str, Any]
    contract: Contract
    params: Params
    train: pd.DataFrame
    test: pd.DataFrame


@pytest.fixture(scope="session")
def example() -> Example:
    from model.core.contract import load_contract
    from model.core.params import load_params

    contract = load_contract(crafted.PROJECT / paths.CONTRACT)
    params = load_params(crafted.PROJECT / paths.PARAMS)
    train, test = crafted.split(crafted.example_frame(contract), contract)
    return Example(crafted.project_yaml(paths.CONTRACT), contract, params, train, test)


@pytest.fixture(scope="session")
def sound_model(example: Example) -> Any:
    return crafted.train(example.contract, example.params, example.train)


@pytest.fixture(scope="session")
def crippled_model(example: Example) -> Any:
    """Trained on shuffled labels: it has learned nothing, so its ROC AUC falls to about 0.5."""
    from model.core.dataset import labels

    shuffled = np.random.default_rng(0).permutation(labels(example.train, example.contract))
    return crafted.train(example.contract, example.params, example.train, shuffled)


def biased_contract(example: Example) -> dict[str, Any]:
    """The example contract with the audited attribute `colour` turned into a feature."""
    contract = copy.deepcopy(example.contract_dict)
    for column in contract["columns"]:
        if column["name"] == "colour":
            column["feature"] = True
    return contract


@pytest.fixture(scope="session")
def biased_model(example: Example) -> Any:
    """Learns colour: trained where every Black arrestee's label was flipped to the negative class."""
    from model.core.contract import Contract
    from model.core.dataset import labels

    contract = Contract.model_validate(biased_contract(example))
    y = labels(example.train, contract).copy()
    y[(example.train["colour"] == "Black").to_numpy()] = 0
    return crafted.train(contract, example.params, example.train, y)
