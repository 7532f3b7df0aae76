"""k8s/training: the cluster's training Job and its one-time bootstrap, rendered with the real `kubectl kustomize`,
validated strictly, scanned by checkov (with a weakened Job that must fail), and held to what the training image
and `python -m ci.train_job` expect."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.k8s.manifests import K8S_DIR, REPO_ROOT, Manifest, dump_all, of_kind, only, render
from tests.k8s.test_policy import CRONJOB_HARDENING_CHECKS, scan
from tests.k8s.test_render import core_errors

TRAINING_DIR = K8S_DIR / "training"
NAMESPACE = "lighthouse-training"


#: What train-cluster.yml pins: the image it built, by digest (the committed kustomization follows no tag).
RUN_DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def job_render(kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    """The Job as a run creates it: k8s/training under a kustomization that pins the built image by digest."""
    run = tmp_path_factory.mktemp("train-run")
    (run / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{os.path.relpath(TRAINING_DIR, run)}]\n"
        f"images:\n  - {{name: lighthouse-train, newName: ghcr.io/acme/model-train, digest: '{RUN_DIGEST}'}}\n"
    )
    return render(run, kubectl)


def test_the_committed_job_pins_no_tag_and_a_run_pins_its_digest(kubectl: str, job_render: list[Manifest]) -> None:
    (committed,) = pod_of(only(render(TRAINING_DIR, kubectl), "Job"))["containers"]
    assert committed["image"] == "lighthouse-train", "the logical name: each run maps it to its image by digest"
    (container,) = pod_of(only(job_render, "Job"))["containers"]
    assert container["image"] == f"ghcr.io/acme/model-train@{RUN_DIGEST}"


@pytest.fixture(scope="module")
def bootstrap(kubectl: str) -> list[Manifest]:
    return render(TRAINING_DIR / "bootstrap", kubectl)


def pod_of(job: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["template"]["spec"]
    return spec


def test_the_run_renders_one_job_and_the_bootstrap_what_it_needs(
    job_render: list[Manifest], bootstrap: list[Manifest]
) -> None:
    assert [m["kind"] for m in job_render] == ["Job"], "a run creates its Job and nothing else"
    assert sorted(m["kind"] for m in bootstrap) == sorted(
        ["Namespace", "ServiceAccount", "ConfigMap", "NetworkPolicy", "Role", "RoleBinding"]
    )
    for manifest in [*job_render, *bootstrap]:
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"]["namespace"] == NAMESPACE


def test_every_object_validates_strictly(job_render: list[Manifest], bootstrap: list[Manifest]) -> None:
    problems = [error for manifest in [*job_render, *bootstrap] for error in core_errors(manifest)]
    assert problems == []


def test_the_job_references_what_the_bootstrap_creates(job_render: list[Manifest], bootstrap: list[Manifest]) -> None:
    pod = pod_of(only(job_render, "Job"))
    assert only(bootstrap, "ServiceAccount", pod["serviceAccountName"])
    (container,) = pod["containers"]
    (source,) = container["envFrom"]
    config = only(bootstrap, "ConfigMap", source["configMapRef"]["name"])
    assert {"DVC_REMOTE_URL", "MLFLOW_TRACKING_URI"} <= set(config["data"]), "what ci.train_job requires"
    policy = only(bootstrap, "NetworkPolicy")
    labels = only(job_render, "Job")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert only(bootstrap, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_job_runs_the_training_image_as_it_was_built(job_render: list[Manifest]) -> None:
    dockerfile = (REPO_ROOT / "Dockerfile.train").read_text(encoding="utf-8")
    user, group = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE).groups()  # type: ignore[union-attr]
    pod = pod_of(only(job_render, "Job"))
    (container,) = pod["containers"]
    assert "command" not in container, "the image's entrypoint: ci.train_job"
    assert "args" not in container
    assert container["image"].split("@")[0].split(":")[0].endswith("-train")
    for context in (pod["securityContext"], container["securityContext"]):
        assert (str(context["runAsUser"]), str(context["runAsGroup"])) == (user, group)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    workspace = next(e["value"] for e in container["env"] if e["name"] == "WORKSPACE")
    assert any(Path(workspace).is_relative_to(m) for m in mounts), "the workspace is on a writable volume"
    assert "/tmp" in mounts, "HOME=/tmp in the image: caches and pytest write there"
    assert pod["restartPolicy"] == "Never"


def test_a_failed_pipeline_fails_the_job_at_once_and_a_lost_node_does_not(job_render: list[Manifest]) -> None:
    rules = only(job_render, "Job")["spec"]["podFailurePolicy"]["rules"]
    fail = next(r for r in rules if r["action"] == "FailJob")
    assert fail["onExitCodes"]["operator"] == "In"
    assert set(fail["onExitCodes"]["values"]) == {1, 2}, "ci.train_job's exit codes (a retry gives the same answer)"
    assert any(r["action"] == "Ignore" and r["onPodConditions"][0]["type"] == "DisruptionTarget" for r in rules)


def test_the_dispatcher_can_create_and_watch_jobs_and_nothing_more(bootstrap: list[Manifest]) -> None:
    (role,) = of_kind(bootstrap, "Role")
    granted = {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
               for resource in rule["resources"] for verb in rule["verbs"]}  # fmt: skip
    assert granted == {
        ("batch", "jobs", "create"), ("batch", "jobs", "get"), ("batch", "jobs", "list"), ("batch", "jobs", "watch"),
        ("", "pods", "get"), ("", "pods", "list"), ("", "pods", "watch"), ("", "pods/log", "get"),
    }  # fmt: skip
    assert not of_kind(bootstrap, "ClusterRole")
    assert not of_kind(bootstrap, "ClusterRoleBinding")
    binding = only(bootstrap, "RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def weakened_job(job: Manifest) -> Manifest:
    changed = copy.deepcopy(job)
    changed["metadata"]["name"] = "weakened-train"
    pod = pod_of(changed)
    for context in (pod["securityContext"], pod["containers"][0]["securityContext"]):
        context.update(runAsNonRoot=False, runAsUser=0)
    pod["containers"][0]["securityContext"].update(readOnlyRootFilesystem=False, allowPrivilegeEscalation=True)
    return changed


def test_checkov_passes_the_training_objects_and_fails_a_weakened_job(
    job_render: list[Manifest], bootstrap: list[Manifest], tmp_path: Path
) -> None:
    (tmp_path / "training.yaml").write_text(dump_all([*job_render, *bootstrap]))
    (tmp_path / "weakened.yaml").write_text(dump_all([weakened_job(only(job_render, "Job"))]))
    results = scan(tmp_path)
    job = f"Job.{NAMESPACE}.lighthouse-train"
    assert job in results, sorted(results)
    assert results[job]["passed"] >= CRONJOB_HARDENING_CHECKS, "the Job gets the serving pod's hardening"
    assert {r: o["failed"] for r, o in results.items() if "weakened" not in r and o["failed"]} == {}
    weakened = results[f"Job.{NAMESPACE}.weakened-train"]["failed"]
    assert weakened >= {"CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_40"}
