"""The same pipeline code on a second real dataset (scikit-lego's Cleveland hearts: another target, another
sensitive attribute coded 0/1), changing only the contract, params.yaml and the ingest loader.

The project's pipeline files are copied into a fresh git + DVC repository with tests/datasets/hearts/'s contract
and params in place of the example's, and `dvc repro` runs every stage there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model import paths

PROJECT = Path(__file__).resolve().parents[2]
HEARTS = Path(__file__).parent / "hearts"
#: What the pipeline needs from the project: its stages, code, gate tests and tool configuration.
PIPELINE_FILES = ("dvc.yaml", "pyproject.toml", "model", "ci", "tests/__init__.py", "tests/gates")


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def hearts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("hearts")
    for name in PIPELINE_FILES:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    (root / "data").mkdir()
    shutil.copy(HEARTS / "contract.yaml", root / paths.CONTRACT)
    shutil.copy(HEARTS / "params.yaml", root / paths.PARAMS)
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LIGHTHOUSE_", "PYTEST_"))}
    env.update(PATH=f"{bin_dir}:{env.get('PATH', '')}", DVC_NO_ANALYTICS="1", MLFLOW_DISABLE_TELEMETRY="true")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    _run(["git", "init", "--quiet"], root, env)
    _run([*git, "add", "-A"], root, env)
    _run([*git, "commit", "--quiet", "-m", "hearts"], root, env)
    _run([f"{bin_dir}/dvc", "init", "--quiet"], root, env)
    repro = _run([f"{bin_dir}/dvc", "repro"], root, env)
    return root, repro.stdout


def _json(root: Path, relative: Path) -> dict:
    return json.loads((root / relative).read_text())


@pytest.mark.slow
def test_every_stage_runs_and_every_report_exists(hearts: tuple[Path, str]) -> None:
    root, log = hearts
    for stage in ("ingest", "validate", "split", "train", "evaluate", "fairness", "explain", "champion", "gates"):
        assert f"Running stage '{stage}'" in log
    for output in (
        paths.VALIDATION_REPORT,
        paths.METRICS,
        paths.FAIRNESS_REPORT,
        paths.EXPLAIN_REPORT,
        paths.CHAMPION_SNAPSHOT,
        paths.GATES_REPORT,
        paths.GATES_JUNIT,
        paths.PR_REPORT,
        paths.MODEL_CARD,
        paths.MODEL_DIR / "registration.json",
        paths.EXPLAIN_PLOTS / "shap_bar.png",
        paths.FAIRNESS_PLOTS / "sex.png",
        paths.FAIRNESS_PLOTS / "age.png",
        paths.FAIRNESS_PLOTS / "intersection.png",
    ):
        assert (root / output).is_file(), f"{output} missing"


@pytest.mark.slow
def test_reports_speak_of_hearts_and_nothing_else(hearts: tuple[Path, str]) -> None:
    root, _ = hearts
    validation = _json(root, paths.VALIDATION_REPORT)
    assert validation["success"] is True
    metrics = _json(root, paths.METRICS)
    assert 0.75 <= metrics["roc_auc"] <= 1.0

    fairness = _json(root, paths.FAIRNESS_REPORT)
    assert fairness["rows"] == 91
    by_name = {e["name"]: e for e in fairness["attributes"]}
    assert list(by_name) == ["sex", "age"]
    assert [g["group"] for g in by_name["sex"]["groups"]] == ["female", "male"]  # the coded 0/1, labelled
    assert [g["group"] for g in by_name["age"]["groups"]] == ["18-49", "50-59", "60+"]
    assert sum(g["count"] for g in by_name["sex"]["groups"]) == 91  # whole held-out split, no one dropped
    assert fairness["intersection"]["columns"] == ["sex", "age"]

    explain = _json(root, paths.EXPLAIN_REPORT)
    assert explain["explainer"] == "permutation"  # logistic regression: the model-agnostic fallback
    assert explain["sample_size"] == 91
    assert "sex" not in {f["feature"] for f in explain["features"]}  # audited, not a feature
    assert {f["feature"] for f in explain["features"]} >= {"ca", "thal", "cp", "oldpeak"}

    gates = _json(root, paths.GATES_REPORT)
    assert gates["passed"] is True, gates["failed"]
    names = {g["name"] for g in gates["gates"]}
    assert {"invariance.sex", "directional.ca", "directional.exang", "fairness.sex.equalized_odds_difference"} <= names

    pr = (root / paths.PR_REPORT).read_text()
    card = (root / paths.MODEL_CARD).read_text()
    assert pr.startswith("<!-- lighthouse-pr-report -->\n")
    assert "Model gates: PASSED" in pr
    assert "cleveland_hearts" in card
    assert "0 = female, 1 = male" in card
    for text in (pr, card):  # no trace of the example dataset: nothing dataset-specific is written in code
        for word in ("colour", "arrest", "released", "checks"):
            assert not re.search(rf"\b{word}\b", text, re.IGNORECASE), word
