"""The same pipeline code on a second real dataset (scikit-lego's Cleveland hearts: another target, another
sensitive attribute coded 0/1), changing only the contract, params.yaml and the ingest loader.

The project's pipeline files are copied into a fresh git + DVC repository (tests/pipeline_project.py) with
tests/datasets/hearts/'s contract and params in place of the example's, and `dvc repro` runs every stage there.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from model.core import paths
from tests.pipeline_project import PIPELINE_FILES, copy_project, dvc, git

HEARTS = Path(__file__).parent / "hearts"
#: The project's pipeline, minus the two files a dataset brings.
FILES = tuple(name for name in PIPELINE_FILES if name not in (str(paths.PARAMS), str(paths.CONTRACT)))


@pytest.fixture(scope="module")
def hearts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A fresh git + DVC copy of the project with the hearts contract and params, after one `dvc repro`."""
    root = copy_project(tmp_path_factory.mktemp("hearts") / "project", FILES)
    (root / paths.CONTRACT).parent.mkdir(parents=True, exist_ok=True)
    # Its own production overlay, with no release yet: the example's champion must not be compared with.
    (root / "k8s" / "overlays" / "hearts").mkdir(parents=True)
    shutil.copy(HEARTS / "contract.yaml", root / paths.CONTRACT)
    shutil.copy(HEARTS / "params.yaml", root / paths.PARAMS)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "hearts: contract and params")
    return root, dvc(root, "repro").stdout


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
    by_name = fairness["attributes"]
    assert set(by_name) == {"sex", "age"}
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
