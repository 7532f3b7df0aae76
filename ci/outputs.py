"""The pipeline's outputs under one project root, read lazily and once, with errors naming the missing file and
the stage that writes it. The gates and the reports read everything through here, so both can be pointed at a
crafted directory (`--root`)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from ci.champion import champion_from_snapshot
from ci.release_record import ReleaseRecord
from model.core import artifact, paths
from model.core.contract import Contract, load_contract
from model.core.errors import LighthouseError
from model.core.io import read_json
from model.core.params import Params, load_params

#: Which stage writes each output, for the error message when it is missing.
WRITERS = {
    paths.VALIDATION_REPORT: "validate",
    paths.METRICS: "evaluate",
    paths.FAIRNESS_REPORT: "fairness",
    paths.EXPLAIN_REPORT: "explain",
    paths.CHAMPION_SNAPSHOT: "champion",
    paths.GATES_REPORT: "gates",
    paths.TEST_SPLIT: "split",
}


class MissingOutputError(LighthouseError):
    """A pipeline output the gates or reports need does not exist."""


class PipelineOutputs:
    """Read-only view of one project root's pipeline outputs."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, relative: Path) -> Path:
        return self.root / relative

    def exists(self, relative: Path) -> bool:
        return self.path(relative).exists()

    def _require(self, relative: Path) -> Path:
        path = self.path(relative)
        if not path.exists():
            stage = WRITERS.get(relative, "pipeline")
            raise MissingOutputError(f"{path}: not found (written by the `{stage}` stage: run `make pipeline`)")
        return path

    def json(self, relative: Path) -> Any:
        return read_json(self._require(relative))

    def optional_json(self, relative: Path) -> Any | None:
        return read_json(self.path(relative)) if self.exists(relative) else None

    @cached_property
    def params(self) -> Params:
        return load_params(self.path(paths.PARAMS))

    @cached_property
    def contract(self) -> Contract:
        return load_contract(self.path(paths.CONTRACT))

    @cached_property
    def metrics(self) -> dict[str, float]:
        return dict(self.json(paths.METRICS))

    @cached_property
    def validation(self) -> dict[str, Any]:
        return dict(self.json(paths.VALIDATION_REPORT))

    @cached_property
    def fairness(self) -> dict[str, Any]:
        return dict(self.json(paths.FAIRNESS_REPORT))

    @cached_property
    def explain(self) -> dict[str, Any]:
        return dict(self.json(paths.EXPLAIN_REPORT))

    @cached_property
    def champion_snapshot(self) -> dict[str, Any]:
        return dict(self.json(paths.CHAMPION_SNAPSHOT))

    @cached_property
    def champion(self) -> ReleaseRecord | None:
        return champion_from_snapshot(self.champion_snapshot)

    @cached_property
    def record(self) -> artifact.ModelRecord:
        return artifact.read_record(self.path(paths.MODEL_DIR))

    @cached_property
    def model(self) -> Any:
        """The verified model artifact (its sha256 checked against the record)."""
        model, _ = artifact.load_verified(self.path(paths.MODEL_DIR))
        return model

    @cached_property
    def test_frame(self) -> pd.DataFrame:
        return pd.read_parquet(self._require(paths.TEST_SPLIT))
