"""Invariants on the rendered overlays, each shown to hold and shown to catch the mistake it is about."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.k8s import invariants
from tests.k8s.manifests import Manifest, only

Check = Callable[[list[Manifest]], list[str]]
CHECKS: dict[str, Check] = {
    "selectors": invariants.selector_problems,
    "references": invariants.reference_problems,
    "replicas": invariants.replica_problems,
    "analysis": invariants.analysis_problems,
    "canary labelling": invariants.canary_labelling_problems,
    "serving contract": invariants.serving_contract_problems,
    "monitor": invariants.monitor_problems,
    "inference log": invariants.inference_log_problems,
    "log shipping": invariants.shipping_problems,
}
#: Breakages of the in-cluster monitor's claim and CronJob: shown on the overlay with k8s/components/monitor.
MONITOR_CHECKS = {"monitor", "inference log"}


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_invariant_holds(rendered: dict[str, list[Manifest]], environment: str, check: str) -> None:
    assert CHECKS[check](rendered[environment]) == []


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_invariant_holds_with_the_in_cluster_monitor(rendered_with_monitor: list[Manifest], check: str) -> None:
    assert CHECKS[check](rendered_with_monitor) == []


def _broken(
    manifests: list[Manifest], kind: str, name: str | None, edit: Callable[[Manifest], object]
) -> list[Manifest]:
    changed = copy.deepcopy(manifests)
    edit(only(changed, kind, name))
    return changed


def _rollout_pod(rollout: Manifest) -> dict[str, Any]:
    pod: dict[str, Any] = rollout["spec"]["template"]["spec"]
    return pod


def _set_env(rollout: Manifest, name: str, value: str | None) -> None:
    """Set (or with None remove) one environment variable of the server container."""
    container = _rollout_pod(rollout)["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != name]
    if value is not None:
        container["env"].append({"name": name, "value": value})


def _server_mount(rollout: Manifest, path: str) -> dict[str, Any]:
    mount: dict[str, Any] = next(
        m for m in _rollout_pod(rollout)["containers"][0]["volumeMounts"] if m["mountPath"] == path
    )
    return mount


def _first_analysis(rollout: Manifest) -> dict[str, Any]:
    analysis: dict[str, Any] = next(
        s["analysis"] for s in rollout["spec"]["strategy"]["canary"]["steps"] if "analysis" in s
    )
    return analysis


# (check, kind, name, edit, words the problem must contain)
BREAKAGES = [
    (
        "selectors",
        "Service",
        "model-server-canary",
        lambda s: s["spec"]["selector"].update(app="typo"),
        "model-server-canary",
    ),
    (
        "selectors",
        "PodMonitor",
        None,
        lambda m: m["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/name": "other"}),
        "PodMonitor",
    ),
    (
        "selectors",
        "NetworkPolicy",
        "model-server",
        lambda n: n["spec"]["podSelector"].update(matchLabels={}),
        "NetworkPolicy",
    ),
    (
        "selectors",
        "PodDisruptionBudget",
        None,
        lambda p: p["spec"]["selector"]["matchLabels"].update(tier="x"),
        "PodDisruptionBudget",
    ),
    (
        "references",
        "Rollout",
        None,
        lambda r: r["spec"]["strategy"]["canary"].update(canaryService="model-server-preview"),
        "canaryService",
    ),
    (
        "references",
        "Rollout",
        None,
        lambda r: _rollout_pod(r).update(serviceAccountName="default"),
        "serviceAccount",
    ),
    (
        "references",
        "Service",
        "model-server",
        lambda s: s["spec"]["ports"][0].update(targetPort="metrics"),
        "targetPort",
    ),
    (
        "references",
        "PodMonitor",
        None,
        lambda m: m["spec"]["podMetricsEndpoints"][0].update(port="metrics"),
        "scrapes port",
    ),
    ("replicas", "Rollout", None, lambda r: r["spec"].update(replicas=3), "spec.replicas"),
    (
        "replicas",
        "HorizontalPodAutoscaler",
        None,
        lambda h: h["spec"]["scaleTargetRef"].update(kind="Deployment"),
        "HorizontalPodAutoscaler",
    ),
    (
        "replicas",
        "Rollout",
        None,
        lambda r: r["spec"]["strategy"]["canary"]["steps"].insert(0, {"setWeight": 33}),
        "setWeight 33",
    ),
    (
        "analysis",
        "Rollout",
        None,
        lambda r: _first_analysis(r)["templates"].append({"templateName": "error-budget"}),
        "error-budget",
    ),
    (
        "analysis",
        "Rollout",
        None,
        lambda r: _first_analysis(r).update(args=[a for a in _first_analysis(r)["args"] if a["name"] != "max-psi"]),
        "max-psi",
    ),
    (
        "analysis",
        "Rollout",
        None,
        lambda r: _first_analysis(r)["args"].append({"name": "max-pis", "value": "0.1"}),
        "max-pis",
    ),
    (
        "analysis",
        "AnalysisTemplate",
        "latency-p99",
        lambda t: t["spec"]["metrics"][0].update(successCondition="result[0] <= {{args.max-latency}}"),
        "max-latency",
    ),
    (
        "analysis",
        "Rollout",
        None,
        lambda r: r["spec"]["strategy"]["canary"].update(
            steps=[s for s in r["spec"]["strategy"]["canary"]["steps"] if "analysis" not in s]
        ),
        "no analysis",
    ),
    (
        "canary labelling",
        "Rollout",
        None,
        lambda r: r["spec"]["strategy"]["canary"]["canaryMetadata"]["labels"].update(role="preview"),
        "role=canary",
    ),
    (
        "canary labelling",
        "PodMonitor",
        None,
        lambda m: m["spec"]["podMetricsEndpoints"][0].update(relabelings=[]),
        "role",
    ),
    (
        "canary labelling",
        "AnalysisTemplate",
        "success-rate",
        lambda t: t["spec"]["metrics"][0].update(successCondition="result[0] >= 0.99"),
        "guards",
    ),
    (
        "canary labelling",
        "AnalysisTemplate",
        "prediction-psi",
        lambda t: t["spec"]["metrics"][0]["provider"]["prometheus"].update(
            query=t["spec"]["metrics"][0]["provider"]["prometheus"]["query"].replace('role="canary"', 'role=~".+"')
        ),
        'role="canary"',
    ),
    (
        "serving contract",
        "Rollout",
        None,
        lambda r: _rollout_pod(r)["containers"][0]["livenessProbe"]["httpGet"].update(path="/readyz"),
        "probes",
    ),
    (
        "serving contract",
        "Rollout",
        None,
        lambda r: _rollout_pod(r)["containers"][0]["volumeMounts"].append({"name": "tmp", "mountPath": "/app"}),
        "unexpected writable",
    ),
    (
        "serving contract",
        "Rollout",
        None,
        lambda r: _rollout_pod(r)["securityContext"].update(runAsUser=1000),
        "uid",
    ),
    (
        "serving contract",
        "Rollout",
        None,
        lambda r: _set_env(r, "INFERENCE_LOG_DIR", "/data/elsewhere"),
        "unexpected writable mounts ['/data/inference-log']",
    ),
    (
        "inference log",
        "Rollout",
        None,
        lambda r: _set_env(r, "INFERENCE_LOG_DIR", None),
        "sets no INFERENCE_LOG_DIR",
    ),
    (
        "inference log",
        "Rollout",
        None,
        lambda r: _set_env(r, "INFERENCE_LOG_DIR", "/app/logs"),
        "INFERENCE_LOG_DIR=/app/logs is on no writable mount",
    ),
    (
        "inference log",
        "Rollout",
        None,
        lambda r: _server_mount(r, "/data/inference-log").update(readOnly=True),
        "mounts it read-only",
    ),
    (
        "inference log",
        "Rollout",
        None,
        lambda r: _server_mount(r, "/data/inference-log").update(mountPath="/data/logs"),
        "does not mount that claim at /data/inference-log",
    ),
    (
        "inference log",
        "Rollout",
        None,
        lambda r: _rollout_pod(r)["volumes"][-1]["persistentVolumeClaim"].update(claimName="other-claim"),
        "does not mount that claim",
    ),
    (
        "inference log",
        "PersistentVolumeClaim",
        "model-inference-log",
        lambda c: c["spec"].update(accessModes=["ReadWriteOnce"]),
        "lack ReadWriteMany",
    ),
    ("monitor", "CronJob", None, lambda c: _monitor_container(c).update(image="busybox:1"), "not the Rollout's image"),
    (
        "monitor",
        "CronJob",
        None,
        lambda c: _monitor_container(c)["args"].append("--sinse=24h"),
        "rejects its args",
    ),
    (
        "monitor",
        "CronJob",
        None,
        lambda c: _monitor_container(c)["args"].append("--out=/app/reports/drift.json"),
        "outside its writable mounts",
    ),
    (
        "monitor",
        "CronJob",
        None,
        lambda c: _monitor_pod(c)["volumes"][1]["persistentVolumeClaim"].update(claimName="inference-logs"),
        "'inference-logs', which is not rendered",
    ),
    (
        "monitor",
        "CronJob",
        None,
        lambda c: c["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"].update(
            values=[2, 3, 10]
        ),
        "podFailurePolicy",
    ),
    (
        "monitor",
        "NetworkPolicy",
        "model-monitor",
        lambda n: n["spec"]["podSelector"]["matchLabels"].update({"app.kubernetes.io/name": "other"}),
        "selected by no NetworkPolicy",
    ),
]


def _monitor_pod(cronjob: Manifest) -> dict[str, Any]:
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def _monitor_container(cronjob: Manifest) -> dict[str, Any]:
    container: dict[str, Any] = _monitor_pod(cronjob)["containers"][0]
    return container


def _shipper(rollout: Manifest) -> dict[str, Any]:
    container: dict[str, Any] = next(c for c in _rollout_pod(rollout)["initContainers"] if c["name"] == "log-shipper")
    return container


def _shipper_mount(rollout: Manifest, name: str) -> dict[str, Any]:
    mount: dict[str, Any] = next(m for m in _shipper(rollout)["volumeMounts"] if m["name"] == name)
    return mount


def _log_volume(rollout: Manifest) -> dict[str, Any]:
    volume: dict[str, Any] = next(v for v in _rollout_pod(rollout)["volumes"] if v["name"] == "inference-log")
    return volume


def _vector(edit: Callable[[dict[str, Any]], object]) -> Callable[[Manifest], object]:
    """Edit the rendered Vector configuration (the ConfigMap's vector.yaml) as data."""

    def apply(config_map: Manifest) -> None:
        config = yaml.safe_load(config_map["data"]["vector.yaml"])
        edit(config)
        config_map["data"]["vector.yaml"] = yaml.safe_dump(config)

    return apply


def _shipper_config_map(manifests: list[Manifest]) -> str:
    return next(m["metadata"]["name"] for m in manifests if m["kind"] == "ConfigMap" and "vector.yaml" in m["data"])


SHIPPING_BREAKAGES = [
    (lambda r: _shipper(r).pop("restartPolicy"), "native sidecar"),
    (lambda r: _shipper_mount(r, "inference-log").pop("readOnly"), "writable"),
    (lambda r: _shipper(r)["env"].pop(), "which its environment does not set"),
    (lambda r: _log_volume(r).update(persistentVolumeClaim={"claimName": "x"}, emptyDir=None), "emptyDir"),
]
VECTOR_BREAKAGES = [
    (lambda c: c["sources"]["inference_log"].update(include=["/data/inference-log/*"]), "finished files only"),
    (lambda c: c["sinks"]["object_store"].update(compression="gzip"), "differs in {'compression': 'gzip'}"),
    (lambda c: c["sinks"]["object_store"].update(encoding={"codec": "json"}), "differs in {'encoding'"),
    (lambda c: c["sinks"]["object_store"].update(filename_extension="log"), "filename_extension"),
    (lambda c: c["sinks"]["object_store"].update(key_prefix="logs/%F/"), "must start with 'inference-'"),
    (lambda c: c.update(data_dir="/etc/vector/state"), "data_dir '/etc/vector/state' is on no writable mount"),
]


@pytest.mark.parametrize(("edit", "words"), SHIPPING_BREAKAGES, ids=[b[-1] for b in SHIPPING_BREAKAGES])
def test_the_shipping_invariant_catches_a_broken_pod(
    rendered: dict[str, list[Manifest]], edit: Callable[[Manifest], object], words: str
) -> None:
    problems = invariants.shipping_problems(_broken(rendered["staging"], "Rollout", None, edit))
    assert any(words in problem for problem in problems), problems


@pytest.mark.parametrize(("edit", "words"), VECTOR_BREAKAGES, ids=[b[-1] for b in VECTOR_BREAKAGES])
def test_the_shipping_invariant_catches_a_broken_vector_config(
    rendered: dict[str, list[Manifest]], edit: Callable[[dict[str, Any]], object], words: str
) -> None:
    manifests = rendered["staging"]
    broken = _broken(manifests, "ConfigMap", _shipper_config_map(manifests), _vector(edit))
    problems = invariants.shipping_problems(broken)
    assert any(words in problem for problem in problems), problems


@pytest.mark.parametrize(("check", "kind", "name", "edit", "words"), BREAKAGES, ids=[b[-1] for b in BREAKAGES])
def test_invariant_catches_the_mistake(
    rendered: dict[str, list[Manifest]],
    rendered_with_monitor: list[Manifest],
    check: str,
    kind: str,
    name: str | None,
    edit: Callable[[Manifest], object],
    words: str,
) -> None:
    manifests = rendered_with_monitor if check in MONITOR_CHECKS else rendered["staging"]
    problems = CHECKS[check](_broken(manifests, kind, name, edit))
    assert any(words in problem for problem in problems), problems
