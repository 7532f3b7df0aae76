"""Every overlay renders, and every rendered object validates: core kinds with kubernetes-validate --strict,
Argo and monitoring kinds against the strict schemas in k8s/schemas (an unknown key fails)."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.k8s.manifests import ENVIRONMENTS, SCHEMAS_DIR, Manifest, is_core, only, ref, rollout_as_deployment

#: The Kubernetes version the manifests target (the oldest the docs support).
KUBERNETES_VERSION = "1.32"

SCHEMA_FILES = {
    ("argoproj.io/v1alpha1", "Rollout"): "rollout-argoproj-v1alpha1.json",
    ("argoproj.io/v1alpha1", "AnalysisTemplate"): "analysistemplate-argoproj-v1alpha1.json",
    ("argoproj.io/v1alpha1", "Application"): "application-argoproj-v1alpha1.json",
    ("argoproj.io/v1alpha1", "AppProject"): "appproject-argoproj-v1alpha1.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring-v1.json",
    ("policy.sigstore.dev/v1alpha1", "ClusterImagePolicy"): "clusterimagepolicy-sigstore-v1alpha1.json",
}


@cache
def schema_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    name = SCHEMA_FILES.get((api_version, kind))
    if name is None:
        raise LookupError(f"no schema in k8s/schemas for {api_version} {kind}: add one and list it in SCHEMA_FILES")
    schema = json.loads((SCHEMAS_DIR / name).read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def schema_errors(manifest: Manifest) -> list[str]:
    validator = schema_validator(manifest["apiVersion"], manifest["kind"])
    return [
        f"{ref(manifest)} {'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    ]


def core_errors(manifest: Manifest) -> list[str]:
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{ref(manifest)} {'.'.join(map(str, error.path))}: {error.message}"]
    return []


def validation_errors(manifest: Manifest) -> list[str]:
    return core_errors(manifest) if is_core(manifest) else schema_errors(manifest)


def test_overlay_renders_the_expected_kinds(rendered: dict[str, list[Manifest]], environment: str) -> None:
    kinds = sorted(m["kind"] for m in rendered[environment])
    assert kinds == sorted(
        ["AnalysisTemplate"] * 3
        + ["HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "PodMonitor", "PrometheusRule"]
        + ["Rollout", "Service", "Service", "Service", "ServiceAccount"]
        # inference-log shipping (k8s/components/inference-log-shipping): Vector's config, bucket, egress
        + ["ConfigMap", "ConfigMap", "NetworkPolicy"]
    )
    assert {m["metadata"]["namespace"] for m in rendered[environment]} == {f"lighthouse-{environment}"}


def test_every_rendered_object_validates(rendered: dict[str, list[Manifest]], environment: str) -> None:
    errors = [error for manifest in rendered[environment] for error in validation_errors(manifest)]
    assert errors == []


def test_every_object_of_a_first_sync_validates(rendered_as_committed: dict[str, list[Manifest]]) -> None:
    manifests = [m for env in ENVIRONMENTS for m in rendered_as_committed[env]]
    errors = [error for manifest in manifests for error in validation_errors(manifest)]
    assert errors == []


def test_the_in_cluster_monitor_variant_validates(rendered_with_monitor: list[Manifest]) -> None:
    assert {"CronJob", "PersistentVolumeClaim"} <= {m["kind"] for m in rendered_with_monitor}
    assert [error for manifest in rendered_with_monitor for error in validation_errors(manifest)] == []


def test_rollout_pod_template_validates_as_core_pod_template(
    rendered: dict[str, list[Manifest]], environment: str
) -> None:
    """The Rollout schema leaves spec.template to Kubernetes' own (strict) PodTemplateSpec schema."""
    deployment = rollout_as_deployment(only(rendered[environment], "Rollout"))
    assert core_errors(deployment) == []


def test_argocd_objects_validate(rendered_argocd: list[Manifest]) -> None:
    assert {m["kind"] for m in rendered_argocd} == {"AppProject", "Application", "ConfigMap"}
    errors = [error for manifest in rendered_argocd for error in validation_errors(manifest)]
    assert errors == []


def _set(document: Manifest, path: tuple[Any, ...], value: Any) -> Manifest:
    changed = copy.deepcopy(document)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


# A misspelt or unknown key, at several depths, for each kind with a repo schema.
UNKNOWN_KEYS = [
    ("Rollout", ("spec", "strategy", "canary", "stepz"), []),
    ("Rollout", ("spec", "strategy", "canary", "steps", 0, "setWieght"), 20),
    ("Rollout", ("spec", "replicaz"), 3),
    ("AnalysisTemplate", ("spec", "metrics", 0, "successCondtion"), "result[0] > 0"),
    ("AnalysisTemplate", ("spec", "metrics", 0, "provider", "prometheus", "querry"), "up"),
    ("PodMonitor", ("spec", "podMetricsEndpoints", 0, "intervall"), "15s"),
    ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "fro"), "5m"),
    ("PrometheusRule", ("metadata", "lables"), {}),
]


@pytest.mark.parametrize(("kind", "path", "value"), UNKNOWN_KEYS, ids=lambda v: str(v))
def test_an_unknown_key_fails_the_schema(
    rendered: dict[str, list[Manifest]], kind: str, path: tuple[Any, ...], value: Any
) -> None:
    manifest = next(m for m in rendered["staging"] if m["kind"] == kind)
    assert schema_errors(manifest) == []
    errors = schema_errors(_set(manifest, path, value))
    assert any("Additional properties are not allowed" in e or "is not valid under any" in e for e in errors), errors


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("Application", ("spec", "syncPolicy", "automated", "prun"), True),
        ("AppProject", ("spec", "sourceRepo"), ["x"]),
    ],
    ids=lambda v: str(v),
)
def test_an_unknown_key_fails_the_argocd_schemas(
    rendered_argocd: list[Manifest], kind: str, path: tuple[Any, ...], value: Any
) -> None:
    manifest = next(m for m in rendered_argocd if m["kind"] == kind)
    assert schema_errors(manifest) == []
    assert any("Additional properties are not allowed" in e for e in schema_errors(_set(manifest, path, value)))


def test_a_wrong_value_fails_the_schema(rendered: dict[str, list[Manifest]]) -> None:
    rollout = only(rendered["staging"], "Rollout")
    assert schema_errors(_set(rollout, ("spec", "strategy", "canary", "steps", 0, "setWeight"), 150))
    template = only(rendered["staging"], "AnalysisTemplate", "success-rate")
    assert schema_errors(_set(template, ("spec", "metrics", 0, "interval"), "one minute"))


def test_an_unknown_key_fails_kubernetes_validate(rendered: dict[str, list[Manifest]]) -> None:
    """The core validation is strict too (the pod template of the Rollout included)."""
    deployment = rollout_as_deployment(only(rendered["staging"], "Rollout"))
    broken = _set(deployment, ("spec", "template", "spec", "containers", 0, "readOnlyRootFileSystem"), True)
    assert core_errors(broken)
    service = only(rendered["staging"], "Service", "model-server")
    assert core_errors(_set(service, ("spec", "selectr"), {}))
