"""Build a project root holding real pipeline outputs for a model of our choosing, so the gates can be run on it.

Everything here is the real thing at a small scale: the example data (scikit-lego's arrests, offline), a real
scikit-learn pipeline trained on it, the real evaluate/fairness code, the real champion snapshot. Only what a
test needs to vary (the model, params, contract, champion record) is changed.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.model_selection import train_test_split

from ci.champion import record_path as champion_record_path
from ci.champion import snapshot
from model.core import artifact, paths
from model.core.contract import Contract
from model.core.dataset import features, labels, typed
from model.core.io import write_json
from model.core.metrics import compute_metrics
from model.core.params import Params
from model.core.pipeline import build_pipeline
from model.stages.fairness import audit

PROJECT = Path(__file__).resolve().parents[2]


def project_yaml(relative: Path) -> dict[str, Any]:
    return yaml.safe_load((PROJECT / relative).read_text())


def example_frame(contract: Contract) -> pd.DataFrame:
    from sklego.datasets import load_arrests

    return typed(load_arrests(as_frame=True), contract)


def split(frame: pd.DataFrame, contract: Contract, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = train_test_split(frame, test_size=0.25, random_state=seed, stratify=labels(frame, contract))
    return train.reset_index(drop=True), test.reset_index(drop=True)


def train(contract: Contract, params: Params, frame: pd.DataFrame, y: np.ndarray | None = None) -> Any:
    """A real pipeline as model/core/pipeline.py builds it, fitted on `frame` (labels `y` if given, else true ones)."""
    target = labels(frame, contract) if y is None else y
    return build_pipeline(contract, params.train).fit(features(frame, contract), target)


@dataclass
class Crafted:
    """A project root whose outputs were produced by `model` on the held-out `test` frame."""

    root: Path
    params: dict[str, Any]
    contract: dict[str, Any]

    def gates(self) -> subprocess.CompletedProcess[str]:
        """Run `python -m ci.gates --root` as the pipeline does, in a fresh process."""
        env = {**os.environ, "PYTHONPATH": str(PROJECT), "MLFLOW_DISABLE_TELEMETRY": "true"}
        env.pop("LIGHTHOUSE_GATES_ROOT", None)
        return subprocess.run(
            [sys.executable, "-m", "ci.gates", "--root", str(self.root), "--quiet"],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def gate(self, report: dict[str, Any], name: str) -> dict[str, Any]:
        return next(g for g in report["gates"] if g["name"] == name)


def fast_params(**gates: Any) -> dict[str, Any]:
    """The project's params with a cheap latency gate and the given `gates` keys replaced."""
    params = copy.deepcopy(project_yaml(paths.PARAMS))
    params["gates"]["latency"] = {"budget_ms": 1000, "repeats": 5, "warmup": 1}
    params["gates"].update(gates)
    return params


def champion_record(metrics: dict[str, float], fairness: dict[str, Any] | None = None) -> dict[str, Any]:
    """A champion release record in the format of docs/release-record.md."""
    return {
        "schema_version": 1,
        "environment": "production",
        "git_sha": "0123456789abcdef0123456789abcdef01234567",
        "model": {"name": "lighthouse-model", "version": "7", "mlflow_run_id": None, "sha256": "ab" * 32},
        "data": {"dvc_hash": "39323cc599ad26b57f3ecf3974becfe3"},
        "image": {"repository": "ghcr.io/example/lighthouse", "digest": "sha256:" + "cd" * 32},
        "metrics": metrics,
        "fairness": fairness or {},
        "gates": {"passed": True, "failed": []},
    }


def craft(
    root: Path,
    model: Any,
    test: pd.DataFrame,
    params: dict[str, Any],
    contract: dict[str, Any],
    champion: dict[str, Any] | None = None,
    explain: bool = False,
) -> Crafted:
    """Write params, contract, split, model, metrics, validation, fairness and champion snapshot under `root`
    (and the SHAP report when `explain`)."""
    from model.core.contract import load_contract
    from model.core.params import load_params

    (root / paths.CONTRACT).parent.mkdir(parents=True, exist_ok=True)
    (root / paths.PARAMS).write_text(yaml.safe_dump(params, sort_keys=False))
    (root / paths.CONTRACT).write_text(yaml.safe_dump(contract, sort_keys=False))
    typed_contract = load_contract(root / paths.CONTRACT)
    typed_params = load_params(root / paths.PARAMS)
    (root / paths.TEST_SPLIT).parent.mkdir(parents=True, exist_ok=True)
    test.to_parquet(root / paths.TEST_SPLIT, index=False)

    model_dir = root / paths.MODEL_DIR
    model_dir.mkdir(parents=True, exist_ok=True)
    saved = artifact.save(model, model_dir)
    artifact.write_record(
        model_dir,
        artifact.ModelRecord(
            sha256=saved.sha256,
            trusted_types=saved.trusted_types,
            estimator=typed_params.train.estimator,
            features=[c.name for c in typed_contract.feature_columns],
            classes={"0": typed_contract.target.negative_label, "1": typed_contract.target.positive_label},
            sklearn_version="test",
            contract_sha256="-",
            data_hash="39323cc599ad26b57f3ecf3974becfe3",
            git_sha="test",
            trained_rows=0,
        ),
    )
    y_true = labels(test, typed_contract)
    proba = model.predict_proba(features(test, typed_contract))[:, 1]
    threshold = typed_params.evaluate.threshold
    write_json(root / paths.METRICS, compute_metrics(y_true, proba, threshold))
    write_json(
        root / paths.VALIDATION_REPORT,
        {"data": "data/raw.csv", "success": True, "evaluated": 1, "failed": 0, "results": []},
    )
    y_pred = (proba >= threshold).astype(np.int64)
    write_json(
        root / paths.FAIRNESS_REPORT, audit(test, y_true, y_pred, typed_contract, typed_params.fairness, threshold)
    )
    if explain:
        from model.stages import explain as shap_stage

        attribution = shap_stage.attribute(model, test, typed_contract, typed_params.explain)
        write_json(root / paths.EXPLAIN_REPORT, shap_stage.report(attribution, len(test), typed_params.explain))
    record_path = root / champion_record_path(typed_params.gates)
    if champion is not None:
        record_path.parent.mkdir(parents=True, exist_ok=True)
        write_json(record_path, champion)
    write_json(root / paths.CHAMPION_SNAPSHOT, snapshot(root))
    return Crafted(root, params, contract)
