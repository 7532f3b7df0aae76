"""Argo CD objects agree with the overlays, the repository URL is set in one place, and the Rollouts
notifications are wired from the Rollout's subscriptions to a configured service."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml

from tests.k8s.manifests import ENVIRONMENTS, K8S_DIR, REPO_ROOT, Manifest, of_kind, only, render


def _group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def test_one_application_per_environment_syncs_its_overlay(
    rendered_argocd: list[Manifest], rendered: dict[str, list[Manifest]]
) -> None:
    project = only(rendered_argocd, "AppProject")
    applications = {a["metadata"]["name"]: a for a in of_kind(rendered_argocd, "Application")}
    assert sorted(applications) == sorted(f"lighthouse-{env}" for env in ENVIRONMENTS)
    for env in ENVIRONMENTS:
        spec = applications[f"lighthouse-{env}"]["spec"]
        assert spec["project"] == project["metadata"]["name"]
        assert spec["source"]["path"] == f"k8s/overlays/{env}"
        assert (REPO_ROOT / spec["source"]["path"] / "kustomization.yaml").exists()
        assert spec["source"]["repoURL"] in project["spec"]["sourceRepos"]
        namespaces = {m["metadata"]["namespace"] for m in rendered[env]}
        assert namespaces == {spec["destination"]["namespace"]}
        assert spec["destination"] in project["spec"]["destinations"]
        policy = spec["syncPolicy"]
        assert policy["automated"] == {"prune": True, "selfHeal": True}
        assert policy["retry"]["limit"] > 0
        assert "CreateNamespace=true" in policy["syncOptions"]


def test_project_allows_exactly_the_rendered_kinds(
    rendered_argocd: list[Manifest], rendered: dict[str, list[Manifest]]
) -> None:
    project = only(rendered_argocd, "AppProject")["spec"]
    allowed = {(entry["group"], entry["kind"]) for entry in project["namespaceResourceWhitelist"]}
    used = {(_group(m["apiVersion"]), m["kind"]) for env in ENVIRONMENTS for m in rendered[env]}
    assert used == allowed
    assert project["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]


def test_no_placeholder_survives_rendering(
    rendered_argocd: list[Manifest], rendered: dict[str, list[Manifest]]
) -> None:
    everything = json.dumps([rendered_argocd, rendered])
    assert "replaced-from" not in everything


def test_repository_url_is_changed_in_one_place(tmp_path: Path, kubectl: str) -> None:
    shutil.copytree(K8S_DIR / "argocd", tmp_path / "argocd")
    source_path = tmp_path / "argocd" / "source.yaml"
    source = yaml.safe_load(source_path.read_text())
    source["data"] |= {"repoURL": "https://github.com/acme/churn-model.git", "targetRevision": "release"}
    source_path.write_text(yaml.safe_dump(source))
    manifests = render(tmp_path / "argocd", kubectl)
    assert only(manifests, "AppProject")["spec"]["sourceRepos"] == ["https://github.com/acme/churn-model.git"]
    for application in of_kind(manifests, "Application"):
        assert application["spec"]["source"]["repoURL"] == "https://github.com/acme/churn-model.git"
        assert application["spec"]["source"]["targetRevision"] == "release"
    # Nothing else in k8s/argocd names the repository.
    assert not [
        p for p in (K8S_DIR / "argocd").iterdir() if p.name != "source.yaml" and "github.com" in p.read_text()
    ]


# --- notifications ------------------------------------------------------------------------------------------

SUBSCRIPTION = re.compile(
    r"^notifications\.argoproj\.io/subscribe\.(?P<trigger>[\w-]+)\.(?P<service>[\w-]+)$"
)
GO_TEMPLATE_ACTION = re.compile(r"\{\{.*?\}\}")


def _notification_config(rendered_argocd: list[Manifest]) -> dict[str, object]:
    config = only(rendered_argocd, "ConfigMap", "argo-rollouts-notification-configmap")
    assert config["metadata"]["namespace"] == "argo-rollouts"
    return {key: yaml.safe_load(value) for key, value in config["data"].items()}


def test_rollout_subscriptions_reach_configured_triggers_and_services(
    rendered_argocd: list[Manifest], rendered: dict[str, list[Manifest]]
) -> None:
    config = _notification_config(rendered_argocd)
    for env in ENVIRONMENTS:
        annotations = only(rendered[env], "Rollout")["metadata"]["annotations"]
        subscriptions = [m.groupdict() for key in annotations if (m := SUBSCRIPTION.match(key))]
        assert {s["trigger"] for s in subscriptions} >= {"on-rollout-aborted", "on-analysis-run-failed"}
        for subscription in subscriptions:
            assert f"trigger.{subscription['trigger']}" in config
            assert f"service.webhook.{subscription['service']}" in config


def test_triggers_send_templates_whose_bodies_are_json(rendered_argocd: list[Manifest]) -> None:
    config = _notification_config(rendered_argocd)
    webhooks = {key.removeprefix("service.webhook.") for key in config if key.startswith("service.webhook.")}
    for key, conditions in config.items():
        if not key.startswith("trigger."):
            continue
        assert isinstance(conditions, list)
        for condition in conditions:
            for template_name in condition["send"]:
                template = config[f"template.{template_name}"]
                assert isinstance(template, dict)
                for service, request in template["webhook"].items():
                    assert service in webhooks
                    body = GO_TEMPLATE_ACTION.sub("x", request["body"])
                    assert isinstance(json.loads(body), dict), f"{template_name}: body is not a JSON object"


def test_webhook_url_is_a_secret_reference(rendered_argocd: list[Manifest]) -> None:
    config = _notification_config(rendered_argocd)
    for key, service in config.items():
        if key.startswith("service."):
            assert isinstance(service, dict), key
            assert str(service["url"]).startswith("$"), f"{key} holds a literal URL, not a secret reference"
