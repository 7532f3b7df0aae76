"""Each analysis step's success/failure conditions, with that environment's thresholds, decide as intended:
no data and NaN are Inconclusive (the Rollout pauses for a person), a good value passes, a bad value fails."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.k8s.argo import (
    UnresolvedArgError,
    UnsupportedConditionError,
    evaluate_condition,
    measurement_phase,
    resolve_args,
    run_args,
)
from tests.k8s.manifests import Manifest, of_kind, only

#: metric -> (threshold argument, whether higher values are better)
THRESHOLDS = {
    "success-rate": ("min-success-rate", True),
    "latency-p99": ("max-p99-seconds", False),
    "prediction-psi": ("max-psi", False),
}


def resolved_metrics(manifests: list[Manifest]) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Every metric of every analysis step, with the step's arguments substituted into it."""
    rollout = only(manifests, "Rollout")
    templates = {t["metadata"]["name"]: t for t in of_kind(manifests, "AnalysisTemplate")}
    resolved = []
    for step in rollout["spec"]["strategy"]["canary"]["steps"]:
        if "analysis" not in step:
            continue
        used = [templates[entry["templateName"]] for entry in step["analysis"]["templates"]]
        args = run_args(rollout, step["analysis"], used)
        for template in used:
            for metric in template["spec"]["metrics"]:
                resolved.append(
                    ({k: resolve_args(v, args) if isinstance(v, str) else v for k, v in metric.items()}, args)
                )
    return resolved


def test_every_metric_has_a_threshold_rule(rendered: dict[str, list[Manifest]], environment: str) -> None:
    assert {metric["name"] for metric, _ in resolved_metrics(rendered[environment])} == set(THRESHOLDS)


def test_conditions_decide_as_intended(rendered: dict[str, list[Manifest]], environment: str) -> None:
    for metric, args in resolved_metrics(rendered[environment]):
        argument, higher_is_better = THRESHOLDS[metric["name"]]
        threshold = float(args[argument])
        worse = threshold - 0.001 if higher_is_better else threshold + 0.001
        assert measurement_phase(metric, []) == "Inconclusive", metric["name"]
        assert measurement_phase(metric, [math.nan]) == "Inconclusive", metric["name"]
        assert measurement_phase(metric, [threshold]) == "Successful", metric["name"]
        assert measurement_phase(metric, [worse]) == "Failed", metric["name"]


def test_the_namespace_and_app_arguments_resolve_to_the_rollout(
    rendered: dict[str, list[Manifest]], environment: str
) -> None:
    for _, args in resolved_metrics(rendered[environment]):
        assert args["namespace"] == f"lighthouse-{environment}"
        assert args["app"] == "model-server"


def test_an_unguarded_condition_errors_on_empty_results() -> None:
    """Why the guards exist: without `len(result) > 0` an empty result is an Error (a few of them abort)."""
    assert measurement_phase({"successCondition": "result[0] >= 0.99"}, []) == "Error"
    assert measurement_phase({"successCondition": "result[0] <= 0.5"}, [math.nan]) == "Failed"


def test_the_evaluator_refuses_what_it_cannot_evaluate_faithfully() -> None:
    with pytest.raises(UnsupportedConditionError):
        evaluate_condition("result[0] in [1, 2]", [1.0])
    with pytest.raises(UnsupportedConditionError):
        evaluate_condition("asFloat(result[0]) > 1", [1.0])
    assert evaluate_condition("len(result) > 0 && !isNaN(result[0]) && result[0] >= 0.5", [0.7]) is True


def test_an_unsupplied_argument_is_refused_like_the_controller_does() -> None:
    with pytest.raises(UnresolvedArgError, match=r"args\.max-psi"):
        resolve_args("result[0] <= {{args.max-psi}}", {"max-p99": "1"})
    assert resolve_args("{{ args.window }}/{{args.window}}", {"window": "5m"}) == "5m/5m"
