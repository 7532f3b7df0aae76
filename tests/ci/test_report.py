"""The PR report and the model card: verdict first, every section present, the same bytes for the same outputs,
and still a useful page when outputs are missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ci import report
from model.core import paths
from tests.ci import crafted


@pytest.fixture(scope="module")
def passed(tmp_path_factory, example, sound_model) -> Path:
    """A sound model with a champion equal to itself, gates run."""
    from model.core.dataset import features, labels
    from model.core.metrics import compute_metrics

    root = tmp_path_factory.mktemp("passed")
    proba = sound_model.predict_proba(features(example.test, example.contract))[:, 1]
    metrics = compute_metrics(labels(example.test, example.contract), proba, example.params.evaluate.threshold)
    champion = crafted.champion_record(
        {k: v - 0.01 for k, v in metrics.items()},
        {"colour": {"demographic_parity_difference": 0.05, "equalized_odds_difference": 0.1}},
    )
    project = crafted.craft(
        root, sound_model, example.test, crafted.fast_params(), example.contract_dict, champion, True
    )
    assert project.gates().returncode == 0
    return root


@pytest.fixture(scope="module")
def blocked(tmp_path_factory, example, crippled_model) -> Path:
    root = tmp_path_factory.mktemp("blocked")
    project = crafted.craft(
        root, crippled_model, example.test, crafted.fast_params(), example.contract_dict, None, True
    )
    assert project.gates().returncode == 1
    return root


def test_pr_report_starts_with_marker_then_verdict(passed: Path) -> None:
    text = report.render(passed)[paths.PR_REPORT]
    lines = text.splitlines()
    assert lines[0] == report.PR_MARKER
    assert lines[2] == "# ✅ Model gates: PASSED"
    gates = json.loads((passed / paths.GATES_REPORT).read_text())
    assert f"**{len(gates['gates'])} gates:" in text
    for heading in ("## Challenger vs champion", "## Fairness", "## Top 5 features", "## Data validation", "## Plots"):
        assert heading in text
    assert "fairness_intersection.equalized_odds_difference" in text  # the advisory warning is spelled out


def test_champion_table_shows_deltas_and_champion_fairness(passed: Path) -> None:
    text = report.render(passed)[paths.PR_REPORT]
    metrics = json.loads((passed / paths.METRICS).read_text())
    roc_row = next(line for line in text.splitlines() if line.startswith("| roc_auc "))
    cells = [c.strip() for c in roc_row.strip("|").split("|")]
    assert cells[1] == f"{metrics['roc_auc']:.4f}"
    assert cells[2] == f"{metrics['roc_auc'] - 0.01:.4f}"
    assert cells[3] == "+0.0100"
    assert cells[5] == "pass"
    assert "Champion: `lighthouse-model` version 7" in text
    colour_row = next(line for line in text.splitlines() if line.startswith("| colour "))
    assert "0.0500 / 0.1000" in colour_row


def test_regression_gate_compares_each_metric_in_its_own_direction(passed: Path, example) -> None:
    gates = {g["name"]: g for g in json.loads((passed / paths.GATES_REPORT).read_text())["gates"]}
    metrics = json.loads((passed / paths.METRICS).read_text())
    allowed = example.params.gates.regression
    champion = {k: v - 0.01 for k, v in metrics.items()}  # as the fixture wrote it
    roc, loss = gates["regression.roc_auc"], gates["regression.log_loss"]
    assert (roc["verdict"], roc["comparison"]) == ("pass", ">=")
    assert roc["threshold"] == pytest.approx(champion["roc_auc"] - allowed["roc_auc"], abs=1e-6)
    # Log loss: lower is better, so the bound is champion + allowed, and 0.01 worse than the champion passes.
    assert (loss["verdict"], loss["comparison"]) == ("pass", "<=")
    assert loss["threshold"] == pytest.approx(champion["log_loss"] + allowed["log_loss"], abs=1e-6)


def test_reports_are_deterministic_and_location_independent(passed: Path, tmp_path: Path) -> None:
    first = report.render(passed)
    assert report.render(passed) == first
    moved = tmp_path / "elsewhere"
    shutil.copytree(passed, moved)
    assert report.render(moved) == first


def test_blocked_report_names_the_failing_gates_first(blocked: Path) -> None:
    text = report.render(blocked)[paths.PR_REPORT]
    head = text.split("## Challenger vs champion")[0]
    assert "# ❌ Model gates: BLOCKED" in head
    gates = json.loads((blocked / paths.GATES_REPORT).read_text())
    assert gates["failed"]
    for name in gates["failed"]:
        assert f"- ❌ `{name}`" in head
    assert "_No champion yet_" in text


def test_missing_outputs_become_notes_not_crashes(passed: Path, tmp_path: Path) -> None:
    root = tmp_path / "partial"
    shutil.copytree(passed, root)
    (root / paths.GATES_REPORT).unlink()
    (root / paths.EXPLAIN_REPORT).unlink()
    assert report.main(["--root", str(root)]) == 0
    text = (root / paths.PR_REPORT).read_text()
    assert "# Model gates: NOT RUN" in text
    assert "explain.json: not found (written by the `explain` stage" in text
    assert "## Fairness" in text
    assert "| colour " in text


def test_model_card_has_every_section_and_provenance(passed: Path) -> None:
    card = report.render(passed)[paths.MODEL_CARD]
    for heading in (
        "## Intended use",
        "## Model",
        "## Data",
        "## Metrics (held-out split)",
        "## Fairness",
        "## Explanations",
        "## Quality gates",
        "## Limitations",
        "## Provenance",
    ):
        assert heading in card
    record = json.loads((passed / paths.MODEL_RECORD).read_text())
    assert f"`{record['data_hash']}`" in card
    assert f"`{record['sha256']}`" in card
    assert "| git commit (training)" in card
    assert "| MLflow run" in card
    assert "(small)" in card  # the intersection's small groups are flagged in the per-group tables


def test_links_use_the_configured_base(passed: Path, tmp_path: Path) -> None:
    root = tmp_path / "with-plots"
    shutil.copytree(passed, root)
    (root / paths.FAIRNESS_PLOTS).mkdir(parents=True)
    (root / paths.FAIRNESS_PLOTS / "colour.png").write_bytes(b"\x89PNG")
    relative = report.render(root)[paths.PR_REPORT]
    assert "[colour](plots/fairness/colour.png)" in relative
    based = report.render(root, "https://example.com/run/1/reports/")[paths.PR_REPORT]
    assert "[colour](https://example.com/run/1/reports/plots/fairness/colour.png)" in based
