"""Where each stage reads and writes, relative to the project root. dvc.yaml declares the same paths
(tests/model/test_paths.py keeps the two in step)."""

from __future__ import annotations

from pathlib import Path

CONTRACT = Path("data/contract.yaml")
PARAMS = Path("params.yaml")
RAW_DATA = Path("data/raw.csv")
SUITE = Path("data/expectations/suite.json")
TRAIN_SPLIT = Path("data/split/train.parquet")
TEST_SPLIT = Path("data/split/test.parquet")
MODEL_DIR = Path("models")
MODEL_ARTIFACT = MODEL_DIR / "model.skops"
MODEL_RECORD = MODEL_DIR / "model.json"
REPORTS = Path("reports")
VALIDATION_REPORT = REPORTS / "validation.json"
METRICS = REPORTS / "metrics.json"
PLOTS = REPORTS / "plots"
REGISTRATION = MODEL_DIR / "registration.json"
FAIRNESS_REPORT = REPORTS / "fairness.json"
FAIRNESS_PLOTS = PLOTS / "fairness"
EXPLAIN_REPORT = REPORTS / "explain.json"
EXPLAIN_PLOTS = PLOTS / "explain"
SHAP_IMPORTANCE_PLOT = PLOTS / "shap_importance.json"
CHAMPION_SNAPSHOT = REPORTS / "champion.json"
GATES_REPORT = REPORTS / "gates.json"
GATES_JUNIT = REPORTS / "gates.xml"
MODEL_CARD = REPORTS / "model_card.md"
PR_REPORT = REPORTS / "pr_report.md"
REFERENCE_PROFILE = MODEL_DIR / "reference.json"
DRIFT_REPORT = REPORTS / "drift.json"
DRIFT_MARKDOWN = REPORTS / "drift.md"
DRIFT_PLOTS = REPORTS / "drift"

#: Written by `python -m model.monitor` (a scheduled job), not by a pipeline stage.
OUTSIDE_PIPELINE = frozenset({"DRIFT_REPORT", "DRIFT_MARKDOWN", "DRIFT_PLOTS"})
