"""What the stages after training (evaluate, fairness, explain) all start from, loaded one way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from model.core import artifact, paths
from model.core.contract import Contract, load_contract
from model.core.params import Params, load_params


@dataclass(frozen=True)
class HeldOut:
    """The contract, params, the verified model and its record, and the held-out split."""

    contract: Contract
    params: Params
    model: Any
    record: artifact.ModelRecord
    test: pd.DataFrame


def load_held_out() -> HeldOut:
    """Raise LighthouseError (naming file and field) when the contract, params or model is not usable."""
    contract = load_contract(paths.CONTRACT)
    params = load_params(paths.PARAMS)
    model, record = artifact.load_verified(paths.MODEL_DIR)
    return HeldOut(contract, params, model, record, pd.read_parquet(paths.TEST_SPLIT))
