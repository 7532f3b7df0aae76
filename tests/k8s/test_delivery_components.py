"""Day 0 to day 1 and the delivery components: a fork's first sync runs no image that does not exist, private
images are pulled with a Secret, and the optional admission policy demands this repository's provenance.

Rendered with the real `kubectl kustomize`; custom resources are validated against the strict schemas in
k8s/schemas (ClusterImagePolicy: policy-controller's own CRD schema, made strict)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ci import overlay
from ci.check_overlays import check_overlay, check_rendered_overlay, rendered_images
from tests.k8s.manifests import (
    ENVIRONMENTS,
    K8S_DIR,
    OVERLAYS_DIR,
    RELEASED_DIGEST,
    REPO_ROOT,
    Manifest,
    dump_all,
    of_kind,
    only,
    render,
)
from tests.k8s.test_render import schema_errors, validation_errors

WORKLOAD_KINDS = {"Rollout", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}


def test_a_first_sync_runs_no_workload(rendered_as_committed: dict[str, list[Manifest]], environment: str) -> None:
    """Only SHA tags are pushed and nothing is promoted yet: any pod would sit in ImagePullBackOff."""
    manifests = rendered_as_committed[environment]
    assert not (OVERLAYS_DIR / environment / "release.json").exists(), "this test is about a fresh fork"
    assert not {m["kind"] for m in manifests} & WORKLOAD_KINDS
    assert rendered_images(dump_all(manifests)) == []
    assert {"Service", "NetworkPolicy", "AnalysisTemplate"} <= {m["kind"] for m in manifests}


def test_no_manifest_follows_a_tag() -> None:
    for path in sorted(K8S_DIR.rglob("kustomization.yaml")):
        for entry in yaml.safe_load(path.read_text()).get("images", []):
            assert "newTag" not in entry, f"{path.relative_to(REPO_ROOT)}: images entry {entry} follows a tag"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_check_overlays_passes_the_committed_overlays(env: str) -> None:
    problems, warnings = check_overlay(OVERLAYS_DIR / env)
    assert problems == []
    assert any("nothing has been promoted here yet" in w for w in warnings)


def test_an_unreleased_overlay_that_renders_a_workload_is_caught(tmp_path: Path, kubectl: str) -> None:
    """The check the pr workflow runs (`make overlays-check`) fails an overlay whose first sync would pull nothing."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S_DIR, copy)
    kustomization = copy / "overlays" / "staging" / "kustomization.yaml"
    kustomization.write_text(overlay.drop_unreleased(kustomization.read_text(), str(kustomization)))
    problems, _ = check_overlay(kustomization.parent)
    assert any("before any release; only a promotion may add a workload" in p for p in problems), problems
    # without kubectl output, the file alone says the same
    problems, _ = check_rendered_overlay(kustomization.parent, None)
    assert any("does not list ../../components/unreleased" in p for p in problems), problems


def test_the_first_release_runs_the_pinned_digest(rendered: dict[str, list[Manifest]], environment: str) -> None:
    manifests = rendered[environment]
    (server,) = only(manifests, "Rollout")["spec"]["template"]["spec"]["containers"]
    assert server["image"] == f"ghcr.io/example/mlops-lighthouse@{RELEASED_DIGEST}"


def test_pods_that_run_the_model_image_pull_it_with_the_secret(
    rendered: dict[str, list[Manifest]], rendered_with_monitor: list[Manifest], environment: str
) -> None:
    pod = only(rendered[environment], "Rollout")["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "ghcr-pull"}]
    cronjob = only(rendered_with_monitor, "CronJob", "model-monitor")
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "ghcr-pull"}]
    # The Secret is created out of band (never committed): nothing renders it.
    assert not of_kind(rendered[environment], "Secret")


def test_without_the_pull_secret_component_no_pod_names_a_secret(tmp_path: Path, kubectl: str) -> None:
    from tests.k8s.manifests import released_copy

    copy = released_copy(K8S_DIR, tmp_path / "k8s")
    kustomization = copy / "overlays" / "staging" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("  - ../../components/registry-pull-secret\n", ""))
    pod = only(render(kustomization.parent, kubectl), "Rollout")["spec"]["template"]["spec"]
    assert "imagePullSecrets" not in pod


@pytest.fixture(scope="module")
def image_policy(kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """The verify-images component as a cluster-policy kustomization would include it."""
    root = tmp_path_factory.mktemp("policies")
    shutil.copytree(K8S_DIR / "components", root / "components")
    (root / "cluster").mkdir()
    (root / "cluster" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "components:\n  - ../components/verify-images\n"
    )
    return only(render(root / "cluster", kubectl), "ClusterImagePolicy")


def test_the_image_policy_validates_against_policy_controllers_schema(image_policy: Manifest) -> None:
    assert validation_errors(image_policy) == []
    broken = yaml.safe_load(yaml.safe_dump(image_policy))
    broken["spec"]["authorities"][0]["keyless"]["identitys"] = []
    assert any("Additional properties are not allowed" in e for e in schema_errors(broken))
    assert "namespace" not in image_policy["metadata"], "a cluster-scoped policy"


def test_the_image_policy_demands_this_repositorys_main_workflow(image_policy: Manifest) -> None:
    base = yaml.safe_load((K8S_DIR / "base" / "kustomization.yaml").read_text())
    (image,) = base["images"]
    repository = image["newName"].removeprefix("ghcr.io/")
    assert [entry["glob"] for entry in image_policy["spec"]["images"]] == [f"{image['newName']}**"]
    (authority,) = image_policy["spec"]["authorities"]
    (identity,) = authority["keyless"]["identities"]
    assert identity == {
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": f"https://github.com/{repository}/.github/workflows/main.yml@refs/heads/main",
    }
    assert [a["predicateType"] for a in authority["attestations"]] == ["https://slsa.dev/provenance/v1"]
    main = (REPO_ROOT / ".github" / "workflows" / "main.yml").read_text()
    assert "actions/attest-build-provenance@" in main, "the policy demands what main.yml attests"
