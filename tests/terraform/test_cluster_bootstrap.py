"""The cluster bootstrap pins its charts and applies the Argo CD manifests from k8s/argocd."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.terraform.hcl import REPO_ROOT, TERRAFORM_DIR, Module, load, load_module

CLUSTER = TERRAFORM_DIR / "modules" / "cluster-bootstrap"
EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+")


@pytest.fixture(scope="module")
def cluster() -> Module:
    return load_module(CLUSTER)


@pytest.mark.parametrize(
    ("release", "chart", "version_variable"),
    [
        ("argo_cd", "argo-cd", "argocd_chart_version"),
        ("argo_rollouts", "argo-rollouts", "argo_rollouts_chart_version"),
        ("kube_prometheus_stack", "kube-prometheus-stack", "kube_prometheus_stack_chart_version"),
    ],
)
def test_charts_are_pinned_to_exact_versions(cluster: Module, release: str, chart: str, version_variable: str) -> None:
    body = cluster.resource("helm_release", release)
    assert body["chart"] == chart
    assert body["version"] == f"${{var.{version_variable}}}"
    assert EXACT_VERSION.fullmatch(cluster.variables[version_variable]["default"])
    root = load_module(TERRAFORM_DIR / "envs" / "cluster")
    assert root.variables[version_variable]["default"] == cluster.variables[version_variable]["default"]


def test_argocd_manifests_default_to_k8s_argocd(cluster: Module) -> None:
    assert cluster.variables["argocd_manifest_files"]["default"] == [
        "k8s/argocd/project.yaml",
        "k8s/argocd/application-staging.yaml",
        "k8s/argocd/application-production.yaml",
    ]
    applications = cluster.resource("helm_release", "argocd_applications")
    assert applications["chart"] == "${path.module}/charts/manifests"
    assert applications["depends_on"] == ["${helm_release.argo_cd}"]


def test_missing_manifests_are_tolerated_with_a_warning(cluster: Module) -> None:
    assert "fileexists" in cluster.locals["present_files"]
    checks = load(CLUSTER / "main.tf").get("check", [])
    # A check block warns at plan time instead of failing, so the add-ons install before the apps exist.
    assert any("argocd_manifests_present" in block for block in checks), checks


def test_present_manifests_decode_as_argo_cd_objects() -> None:
    # Only files that exist are applied; each must be a single Argo CD object (yamldecode reads one document).
    for relative in load_module(CLUSTER).variables["argocd_manifest_files"]["default"]:
        path = REPO_ROOT / relative
        if not path.exists():
            continue
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        assert len(documents) == 1, f"{relative}: one document per file (terraform yamldecode reads one)"
        assert documents[0]["apiVersion"].startswith("argoproj.io/"), relative
        assert documents[0]["kind"] in {"AppProject", "Application"}, relative


def test_pass_through_chart_renders_every_manifest() -> None:
    chart = CLUSTER / "charts" / "manifests"
    assert yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))["apiVersion"] == "v2"
    assert yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8")) == {"manifests": []}
    template = (chart / "templates" / "manifests.yaml").read_text(encoding="utf-8")
    assert "range .Values.manifests" in template
    assert "toYaml ." in template


@pytest.mark.parametrize("values_file", sorted((CLUSTER / "values").glob("*.yaml")), ids=lambda p: p.name)
def test_values_files_are_valid_yaml(values_file: Path) -> None:
    assert isinstance(yaml.safe_load(values_file.read_text(encoding="utf-8")), dict)


def test_prometheus_picks_up_monitors_from_every_namespace() -> None:
    values = yaml.safe_load((CLUSTER / "values" / "kube-prometheus-stack.yaml").read_text(encoding="utf-8"))
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["podMonitorSelectorNilUsesHelmValues"] is False
