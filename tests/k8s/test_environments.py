"""Production differs from staging only where intended, and where it differs it is slower and stricter."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

from tests.k8s.manifests import Manifest, only, ref

#: Everything production may change relative to staging, as `Kind/name:dotted.path` patterns (fnmatch; list
#: items are `[i]`). A new difference must be added here, on purpose, in the same change.
INTENDED_DIFFERENCES = (
    "*:metadata.namespace",  # each environment in its own namespace
    "HorizontalPodAutoscaler/model-server:spec.minReplicas",  # scaling bounds
    "HorizontalPodAutoscaler/model-server:spec.maxReplicas",
    "Rollout/model-server:spec.strategy.canary.steps*",  # canary weights, pauses and analysis thresholds
    "Rollout/model-server:spec.template.spec.containers[0].image",  # each environment runs its own release
    "CronJob/model-monitor:spec.jobTemplate.spec.template.spec.containers[0].image",  # ...and monitors with it
)


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Leaf values by path: `a.b[0].c`."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat |= flatten(item, f"{path}.{key}" if path else str(key))
        return flat or {path: {}}
    if isinstance(value, list):
        flat = {}
        for index, item in enumerate(value):
            flat |= flatten(item, f"{path}[{index}]")
        return flat or {path: []}
    return {path: value}


def differences(left: list[Manifest], right: list[Manifest]) -> set[str]:
    """Paths (`Kind/name:path`) whose value differs between two renders, or exists in one only."""
    flat_left = {f"{ref(m)}:{p}": v for m in left for p, v in flatten(m).items()}
    flat_right = {f"{ref(m)}:{p}": v for m in right for p, v in flatten(m).items()}
    return {
        p for p in flat_left.keys() | flat_right.keys() if flat_left.get(p, object()) != flat_right.get(p, object())
    }


def unintended(paths: set[str]) -> list[str]:
    return sorted(p for p in paths if not any(fnmatchcase(p, pattern) for pattern in INTENDED_DIFFERENCES))


def test_production_differs_from_staging_only_where_intended(rendered: dict[str, list[Manifest]]) -> None:
    diff = differences(rendered["staging"], rendered["production"])
    assert diff, "the environments render identically: the overlays are not doing their job"
    assert unintended(diff) == []


def test_an_unintended_difference_is_reported(rendered: dict[str, list[Manifest]]) -> None:
    production = [dict(m) for m in rendered["production"]]
    rollout = only(production, "Rollout")
    changed = {**rollout, "spec": {**rollout["spec"], "revisionHistoryLimit": 10}}
    production[production.index(rollout)] = changed
    assert unintended(differences(rendered["staging"], production)) == [
        "Rollout/model-server:spec.revisionHistoryLimit"
    ]


def _seconds(duration: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([smh])", duration).groups()  # type: ignore[union-attr]
    return int(number) * {"s": 1, "m": 60, "h": 3600}[unit]


def canary_policy(manifests: list[Manifest]) -> dict[str, Any]:
    steps = only(manifests, "Rollout")["spec"]["strategy"]["canary"]["steps"]
    analyses = [s["analysis"] for s in steps if "analysis" in s]
    args = [{a["name"]: a.get("value") for a in analysis["args"]} for analysis in analyses]
    assert all(a == args[0] for a in args), "every analysis step of one environment uses the same thresholds"
    hpa = only(manifests, "HorizontalPodAutoscaler")
    return {
        "first_weight": next(s["setWeight"] for s in steps if "setWeight" in s),
        "weights": [s["setWeight"] for s in steps if "setWeight" in s],
        "soak_seconds": sum(_seconds(s["pause"]["duration"]) for s in steps if "duration" in s.get("pause", {})),
        "analyses": len(analyses),
        "min_replicas": hpa["spec"]["minReplicas"],
        **{name: float(value) for name, value in args[0].items() if value is not None},
    }


def test_production_is_slower_and_stricter(rendered: dict[str, list[Manifest]]) -> None:
    staging, production = canary_policy(rendered["staging"]), canary_policy(rendered["production"])
    assert production["first_weight"] < staging["first_weight"]
    assert len(production["weights"]) > len(staging["weights"])
    assert production["soak_seconds"] > staging["soak_seconds"]
    assert production["analyses"] > staging["analyses"]
    assert production["min_replicas"] > staging["min_replicas"]
    assert production["min-success-rate"] > staging["min-success-rate"]
    assert production["max-p99-seconds"] < staging["max-p99-seconds"]
    assert production["max-psi"] < staging["max-psi"]
    assert production["min-requests"] > staging["min-requests"]
    assert production["min-predictions"] > staging["min-predictions"]
