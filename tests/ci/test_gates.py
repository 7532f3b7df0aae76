"""Each gate fails for the right reason, run end to end by `python -m ci.gates --root` on crafted outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from model.core import paths
from tests.ci import crafted
from tests.ci.conftest import biased_contract


def _report(project: crafted.Crafted) -> dict:
    return json.loads((project.root / paths.GATES_REPORT).read_text())


def _sound_metrics(example, model) -> dict[str, float]:
    from model.core.dataset import features, labels
    from model.core.metrics import compute_metrics

    proba = model.predict_proba(features(example.test, example.contract))[:, 1]
    return compute_metrics(labels(example.test, example.contract), proba, example.params.evaluate.threshold)


def test_sound_model_without_champion_passes_with_the_note(tmp_path: Path, example, sound_model) -> None:
    project = crafted.craft(tmp_path, sound_model, example.test, crafted.fast_params(), example.contract_dict)
    run = project.gates()
    assert run.returncode == 0, run.stdout + run.stderr
    report = _report(project)
    assert report["passed"] is True
    assert report["failed"] == []
    assert report["champion"]["present"] is False
    for name in example.params.gates.regression:
        gate = project.gate(report, f"regression.{name}")
        assert gate["verdict"] == "pass"
        assert gate["threshold"] is None
        assert gate["detail"].startswith("no champion yet")
    # The JUnit file names the same gates, with their verdicts as properties.
    cases = ET.parse(project.root / paths.GATES_JUNIT).getroot().iter("testcase")
    junit_gates = {p.get("value") for case in cases for p in case.iter("property") if p.get("name") == "gate"}
    assert junit_gates == {g["name"] for g in report["gates"]}


def test_crippled_model_fails_the_regression_gate_against_the_champion(
    tmp_path: Path, example, sound_model, crippled_model
) -> None:
    champion = crafted.champion_record(_sound_metrics(example, sound_model))
    # Only the regression gates judge metrics here, so nothing else can be the reason it fails.
    params = crafted.fast_params(metrics={}, behaviour={"invariance": [], "directional": []})
    project = crafted.craft(tmp_path, crippled_model, example.test, params, example.contract_dict, champion)
    run = project.gates()
    assert run.returncode == 1, run.stdout + run.stderr
    report = _report(project)
    assert report["champion"]["present"] is True
    roc = project.gate(report, "regression.roc_auc")
    assert roc["verdict"] == "fail"
    assert roc["blocking"] is True
    assert roc["value"] < champion["metrics"]["roc_auc"] - 0.1
    assert roc["threshold"] == round(champion["metrics"]["roc_auc"] - 0.02, 6)
    assert "vs champion" in roc["detail"]
    assert "lighthouse-model v7" in roc["detail"]
    assert "regression.roc_auc" in report["failed"]
    assert all(name.startswith("regression.") for name in report["failed"])
    assert "regression.roc_auc (fail)" in run.stderr  # the message names the gate and its numbers
    assert f"must be >= {roc['threshold']}" in run.stderr


def test_biased_model_fails_the_fairness_gate(tmp_path: Path, example, biased_model) -> None:
    params = crafted.fast_params(metrics={}, regression={}, behaviour={"invariance": [], "directional": []})
    project = crafted.craft(tmp_path, biased_model, example.test, params, biased_contract(example))
    run = project.gates()
    assert run.returncode == 1, run.stdout + run.stderr
    report = _report(project)
    dpd = project.gate(report, "fairness.colour.demographic_parity_difference")
    assert dpd["verdict"] == "fail"
    assert dpd["value"] > example.params.gates.fairness.default.demographic_parity_difference
    assert "fairness.colour.demographic_parity_difference" in report["failed"]
    # Other attributes may fail too (colour correlates with them); nothing but fairness gates may.
    assert all(name.startswith("fairness.") for name in report["failed"]), report["failed"]
    assert "fairness.colour.demographic_parity_difference (fail)" in run.stderr


def test_biased_model_fails_the_invariance_gate(tmp_path: Path, example, biased_model) -> None:
    params = crafted.fast_params(
        metrics={}, regression={}, behaviour={"invariance": [{"column": "colour", "max_abs_change": 0.01}]}
    )
    # Leave the invariance gate as the only blocking one.
    params["gates"]["advisory"] = ["latency", "fairness", "fairness_intersection"]
    project = crafted.craft(tmp_path, biased_model, example.test, params, biased_contract(example))
    run = project.gates()
    assert run.returncode == 1, run.stdout + run.stderr
    report = _report(project)
    assert report["failed"] == ["invariance.colour"]
    gate = project.gate(report, "invariance.colour")
    assert gate["value"] > 0.01
    assert "not a model feature" not in gate["detail"]


def test_advisory_gate_reports_without_blocking(tmp_path: Path, example, sound_model) -> None:
    params = crafted.fast_params(latency={"budget_ms": 1e-6, "repeats": 3, "warmup": 0})
    params["gates"]["advisory"] = ["latency", "fairness_intersection"]
    project = crafted.craft(tmp_path, sound_model, example.test, params, example.contract_dict)
    run = project.gates()
    assert run.returncode == 0, run.stdout + run.stderr
    report = _report(project)
    latency = project.gate(report, "latency")
    assert latency["verdict"] == "warn"
    assert latency["blocking"] is False
    assert latency["value"] > latency["threshold"]
    assert report["passed"] is True
    assert "latency" in report["advisory_warnings"]
    assert "advisory latency" in run.stdout

    # The same budget, declared blocking, stops the run: the advisory flag is what let it through.
    params["gates"]["advisory"] = ["fairness_intersection"]
    (tmp_path / paths.PARAMS).write_text(yaml.safe_dump(params))
    run = project.gates()
    assert run.returncode == 1
    assert _report(project)["failed"] == ["latency"]


def test_missing_output_is_a_blocking_error_naming_the_file(tmp_path: Path, example, sound_model) -> None:
    project = crafted.craft(tmp_path, sound_model, example.test, crafted.fast_params(), example.contract_dict)
    (tmp_path / paths.FAIRNESS_REPORT).unlink()
    run = project.gates()
    assert run.returncode == 1
    report = _report(project)
    fairness = [g for g in report["gates"] if g["family"] == "fairness"]
    assert fairness
    assert {g["verdict"] for g in fairness} == {"error"}
    assert all("fairness.json: not found" in g["detail"] for g in fairness)
    assert "written by the `fairness` stage" in fairness[0]["detail"]


def test_bad_params_stop_before_any_gate_runs(tmp_path: Path, example, sound_model) -> None:
    params = crafted.fast_params()
    params["gates"]["advisory"] = ["latncy"]
    project = crafted.craft(tmp_path, sound_model, example.test, params, example.contract_dict)
    run = project.gates()
    assert run.returncode == 2
    assert "gates.advisory.0: 'latncy' matches no gate" in run.stderr
    assert not (tmp_path / paths.GATES_REPORT).exists()
