"""The kustomize configuration the Rollout needs: label/selector and name-reference field specs (so overlay
labels and name prefixes reach the Rollout), JSON patches that cannot drop its container, and the one-place
settings copied in by replacements. Each is exercised on a copy of k8s/ in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.k8s import invariants
from tests.k8s.manifests import K8S_DIR, OVERLAYS_DIR, Manifest, of_kind, only, released_copy, render


@pytest.fixture
def k8s_copy(tmp_path: Path) -> Path:
    """k8s/ after each environment's first promotion (the committed overlays run no workload yet)."""
    return released_copy(K8S_DIR, tmp_path / "k8s")


def _edit_kustomization(directory: Path, **changes: object) -> None:
    path = directory / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            kustomization.pop(key, None)
        else:
            kustomization[key] = value
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False))


SELECTOR_LABEL = [{"pairs": {"app.kubernetes.io/instance": "blue"}, "includeSelectors": True}]


def test_overlay_selector_labels_reach_the_rollout(k8s_copy: Path, kubectl: str) -> None:
    overlay = k8s_copy / "overlays" / "staging"
    _edit_kustomization(overlay, labels=SELECTOR_LABEL)
    manifests = render(overlay, kubectl)
    rollout = only(manifests, "Rollout")
    assert rollout["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "blue"
    assert invariants.pod_labels(rollout)["app.kubernetes.io/instance"] == "blue"
    assert invariants.selector_problems(manifests) == []


def test_without_the_rollout_configuration_services_would_match_no_pods(k8s_copy: Path, kubectl: str) -> None:
    """Why k8s/base/kustomize/rollout-transform.yaml exists: without it the same label breaks selectors."""
    _edit_kustomization(k8s_copy / "base", configurations=None)
    overlay = k8s_copy / "overlays" / "staging"
    _edit_kustomization(overlay, labels=SELECTOR_LABEL)
    problems = invariants.selector_problems(render(overlay, kubectl))
    assert any("Service/model-server " in p for p in problems), problems


def test_name_prefix_keeps_every_reference(k8s_copy: Path, kubectl: str) -> None:
    overlay = k8s_copy / "overlays" / "production"
    _edit_kustomization(overlay, namePrefix="blue-")
    manifests = render(overlay, kubectl)
    rollout = only(manifests, "Rollout", "blue-model-server")
    assert rollout["spec"]["strategy"]["canary"]["canaryService"] == "blue-model-server-canary"
    assert rollout["spec"]["template"]["spec"]["serviceAccountName"] == "blue-model-server"
    config_maps = {v["configMap"]["name"] for v in rollout["spec"]["template"]["spec"]["volumes"] if "configMap" in v}
    assert {m["metadata"]["name"] for m in of_kind(manifests, "ConfigMap")} >= config_maps
    assert all(name.startswith("blue-inference-log-shipper") for name in config_maps)
    assert invariants.reference_problems(manifests) == []
    assert invariants.shipping_problems(manifests) == []
    assert invariants.analysis_problems(manifests) == []
    assert invariants.replica_problems(manifests) == []


def _strategic_merge_patches_on_rollouts(overlay: Path) -> list[str]:
    """Overlay (or component) patches that would merge strategically into a Rollout (and so replace its
    container list)."""
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    found = []
    for patch in kustomization.get("patches", []):
        body = yaml.safe_load(patch["patch"] if "patch" in patch else (overlay / patch["path"]).read_text())
        kind = patch.get("target", {}).get("kind") or (body or {}).get("kind")
        deletes = isinstance(body, dict) and body.get("$patch") == "delete"  # removes the object, merges nothing
        if kind == "Rollout" and not isinstance(body, list) and not deletes:
            found.append(patch.get("path", "<inline patch>"))
    return found


@pytest.mark.parametrize("env", ["staging", "production"])
def test_overlays_patch_the_rollout_with_json_patches_only(env: str) -> None:
    assert _strategic_merge_patches_on_rollouts(OVERLAYS_DIR / env) == []


@pytest.mark.parametrize("component", sorted(p.name for p in (K8S_DIR / "components").iterdir()))
def test_components_patch_the_rollout_with_json_patches_only(component: str) -> None:
    assert _strategic_merge_patches_on_rollouts(K8S_DIR / "components" / component) == []


def test_without_a_log_component_the_servers_log_nothing_and_mount_only_tmp(k8s_copy: Path, kubectl: str) -> None:
    """A fork with no object store leaves the shipping component out: no volume, no INFERENCE_LOG_DIR."""
    overlay = k8s_copy / "overlays" / "staging"
    _edit_kustomization(overlay, components=None)
    manifests = render(overlay, kubectl)
    (container,) = only(manifests, "Rollout")["spec"]["template"]["spec"]["containers"]
    assert not of_kind(manifests, "CronJob")
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]
    assert not [e for e in container["env"] if e["name"].startswith("INFERENCE_LOG_")]
    assert invariants.serving_contract_problems(manifests) == []
    assert invariants.inference_log_problems(manifests) == []
    assert invariants.shipping_problems(manifests) == []
    assert "initContainers" not in only(manifests, "Rollout")["spec"]["template"]["spec"]


def test_a_strategic_merge_patch_would_drop_the_container_and_is_caught(k8s_copy: Path, kubectl: str) -> None:
    """Kustomize has no schema for Rollout, so a strategic merge replaces the whole container list."""
    overlay = k8s_copy / "overlays" / "staging"
    (overlay / "resources.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Rollout",
                "metadata": {"name": "model-server"},
                "spec": {
                    "template": {"spec": {"containers": [{"name": "server", "resources": {"limits": {"cpu": "2"}}}]}}
                },
            }
        )
    )
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    kustomization["patches"].append({"path": "resources.yaml"})
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    assert _strategic_merge_patches_on_rollouts(overlay) == ["resources.yaml"]
    manifests = render(overlay, kubectl)
    (container,) = only(manifests, "Rollout")["spec"]["template"]["spec"]["containers"]
    assert "image" not in container
    assert invariants.serving_contract_problems(manifests) != []


def _prometheus_addresses(manifests: list[Manifest]) -> set[str]:
    return {
        metric["provider"]["prometheus"]["address"]
        for template in of_kind(manifests, "AnalysisTemplate")
        for metric in template["spec"]["metrics"]
    }


def test_prometheus_address_comes_from_settings(rendered: dict[str, list[Manifest]], environment: str) -> None:
    settings = yaml.safe_load((K8S_DIR / "base" / "settings.yaml").read_text())
    assert _prometheus_addresses(rendered[environment]) == {settings["data"]["prometheusAddress"]}
    deployed = {m["metadata"]["name"] for m in of_kind(rendered[environment], "ConfigMap")}
    assert settings["metadata"]["name"] not in deployed, "the local-config settings must not be deployed"


def test_changing_the_prometheus_address_in_one_place_changes_every_template(k8s_copy: Path, kubectl: str) -> None:
    settings_path = k8s_copy / "base" / "settings.yaml"
    settings = yaml.safe_load(settings_path.read_text())
    settings["data"]["prometheusAddress"] = "http://thanos-query.observability.svc:9090"
    settings_path.write_text(yaml.safe_dump(settings))
    manifests = render(k8s_copy / "overlays" / "production", kubectl)
    assert _prometheus_addresses(manifests) == {"http://thanos-query.observability.svc:9090"}
