"""checkov (from its own environment) on the rendered core objects AND on the Rollout's pod template scanned
as a Deployment (checkov does not look inside a Rollout), with a proof that a weakened pod template fails."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REQUIRE_TOOLS_VAR
from tests.k8s.manifests import K8S_DIR, REPO_ROOT, Manifest, dump_all, is_core, only, rollout_as_deployment

CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
CHECKOV_CONFIG = K8S_DIR / ".checkov.yaml"

Mutation = Callable[[dict[str, Any], dict[str, Any]], object]  # (pod spec, container)


def _pop(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        mapping.pop(key, None)
    return mapping


#: name -> (how the pod template is weakened, the checks that must then fail)
WEAKENINGS: dict[str, tuple[Mutation, set[str]]] = {
    "privileged": (lambda pod, c: c["securityContext"].update(privileged=True), {"CKV_K8S_16"}),
    "root": (
        lambda pod, c: [
            sc.update(runAsNonRoot=False, runAsUser=0) for sc in (pod["securityContext"], c["securityContext"])
        ],
        {"CKV_K8S_23", "CKV_K8S_40"},
    ),
    "writable-root-fs": (
        lambda pod, c: c["securityContext"].update(readOnlyRootFilesystem=False),
        {"CKV_K8S_22"},
    ),
    "privilege-escalation": (
        lambda pod, c: c["securityContext"].update(allowPrivilegeEscalation=True),
        {"CKV_K8S_20"},
    ),
    "capabilities-kept": (
        lambda pod, c: _pop(c["securityContext"], "capabilities"),
        {"CKV_K8S_28", "CKV_K8S_37"},
    ),
    "no-seccomp": (
        lambda pod, c: [_pop(sc, "seccompProfile") for sc in (pod["securityContext"], c["securityContext"])],
        {"CKV_K8S_31"},
    ),
    "no-limits": (lambda pod, c: _pop(c["resources"], "limits"), {"CKV_K8S_11", "CKV_K8S_13"}),
    "token-mounted": (lambda pod, c: pod.update(automountServiceAccountToken=True), {"CKV_K8S_38"}),
    "no-probes": (lambda pod, c: _pop(c, "livenessProbe", "readinessProbe"), {"CKV_K8S_8", "CKV_K8S_9"}),
    # The log shipper sidecar (an init container) is scanned too: weakening it alone fails.
    "privileged-shipper": (
        lambda pod, c: pod["initContainers"][0]["securityContext"].update(privileged=True),
        {"CKV_K8S_16"},
    ),
    "writable-shipper": (
        lambda pod, c: pod["initContainers"][0]["securityContext"].update(readOnlyRootFilesystem=False),
        {"CKV_K8S_22"},
    ),
}

#: Checks the converted Deployment must have been run through (so a green report means something).
HARDENING_CHECKS = {
    "CKV_K8S_16",
    "CKV_K8S_20",
    "CKV_K8S_22",
    "CKV_K8S_23",
    "CKV_K8S_28",
    "CKV_K8S_31",
    "CKV_K8S_37",
    "CKV_K8S_38",
    "CKV_K8S_40",
    "CKV_K8S_8",
    "CKV_K8S_9",
    "CKV_K8S_11",
    "CKV_K8S_13",
}


def weakened(rollout: Manifest, name: str) -> Manifest:
    deployment = rollout_as_deployment(copy.deepcopy(rollout))
    deployment["metadata"]["name"] = f"weakened-{name}"
    pod = deployment["spec"]["template"]["spec"]
    mutate, _ = WEAKENINGS[name]
    mutate(pod, pod["containers"][0])
    return deployment


#: The drift monitor's CronJob: the same hardening as the server's pods, less the probes a batch job has not.
CRONJOB_HARDENING_CHECKS = HARDENING_CHECKS - {"CKV_K8S_8", "CKV_K8S_9"}


def weakened_cronjob(cronjob: Manifest) -> Manifest:
    """The monitor's CronJob as root with a writable root filesystem."""
    changed = copy.deepcopy(cronjob)
    changed["metadata"]["name"] = "weakened-model-monitor"
    pod = changed["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    for context in (pod["securityContext"], pod["containers"][0]["securityContext"]):
        context.update(runAsNonRoot=False, runAsUser=0)
    pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    return changed


def checkov_binary() -> Path:
    if CHECKOV.exists():
        return CHECKOV
    reason = f"{CHECKOV.relative_to(REPO_ROOT)} is missing: run `make checkov-env`"
    if os.environ.get(REQUIRE_TOOLS_VAR) == "1":
        pytest.fail(f"{reason} ({REQUIRE_TOOLS_VAR}=1 requires it)")
    pytest.skip(reason)


CheckovResults = dict[str, dict[str, set[str]]]  # resource -> {"passed": {...}, "failed": {...}}


@pytest.fixture(scope="session")
def checkov_results(
    rendered: dict[str, list[Manifest]],
    rendered_with_monitor: list[Manifest],
    tmp_path_factory: pytest.TempPathFactory,
) -> CheckovResults:
    """One checkov run (it takes seconds to start) over both overlays, the in-cluster monitor's CronJob and the
    weakened templates."""
    checkov_binary()
    directory = tmp_path_factory.mktemp("checkov")
    for env, manifests in rendered.items():
        scanned = [m for m in manifests if is_core(m)] + [rollout_as_deployment(only(manifests, "Rollout"))]
        (directory / f"{env}.yaml").write_text(dump_all(scanned))
    monitor = only(rendered_with_monitor, "CronJob", "model-monitor")
    (directory / "monitor.yaml").write_text(dump_all([monitor]))
    rollout = only(rendered["staging"], "Rollout")
    weakened_objects = [weakened(rollout, name) for name in WEAKENINGS]
    weakened_objects.append(weakened_cronjob(monitor))
    (directory / "weakened.yaml").write_text(dump_all(weakened_objects))
    return scan(directory)


def scan(directory: Path) -> CheckovResults:
    """checkov with the repository's policy over every manifest file in `directory`."""
    binary = checkov_binary()
    proc = subprocess.run(
        [
            str(binary),
            "--config-file",
            str(CHECKOV_CONFIG),
            "--directory",
            str(directory),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=directory,
    )
    if proc.returncode not in (0, 1):
        pytest.fail(f"checkov could not run (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    results: CheckovResults = {}
    for part in reports:
        for outcome in ("passed", "failed"):
            for check in part["results"][f"{outcome}_checks"]:
                results.setdefault(check["resource"], {"passed": set(), "failed": set()})[outcome].add(
                    check["check_id"]
                )
    return results


def _failures(results: CheckovResults, resource_filter: Callable[[str], bool]) -> dict[str, set[str]]:
    return {r: o["failed"] for r, o in results.items() if resource_filter(r) and o["failed"]}


def test_rendered_core_objects_pass_checkov(checkov_results: CheckovResults, environment: str) -> None:
    namespace = f"lighthouse-{environment}"
    scanned = [r for r in checkov_results if f".{namespace}." in r and "weakened" not in r]
    assert {r.split(".")[0] for r in scanned} >= {"Service", "ServiceAccount", "Deployment"}
    assert _failures(checkov_results, lambda r: r in scanned) == {}


def test_rollout_pod_template_was_really_scanned(checkov_results: CheckovResults, environment: str) -> None:
    deployment = f"Deployment.lighthouse-{environment}.model-server"
    assert deployment in checkov_results, sorted(checkov_results)
    assert checkov_results[deployment]["passed"] >= HARDENING_CHECKS
    assert checkov_results[deployment]["failed"] == set()


@pytest.mark.parametrize("name", sorted(WEAKENINGS))
def test_a_weakened_pod_template_fails_checkov(checkov_results: CheckovResults, name: str) -> None:
    resource = f"Deployment.lighthouse-staging.weakened-{name}"
    _, expected = WEAKENINGS[name]
    assert resource in checkov_results
    assert checkov_results[resource]["failed"] >= expected


def test_every_skipped_check_is_justified() -> None:
    """Each `skip-check` entry has a comment right above it that names the check and gives a reason."""
    lines = CHECKOV_CONFIG.read_text().splitlines()
    skipped = yaml.safe_load(CHECKOV_CONFIG.read_text()).get("skip-check", [])
    assert skipped, "no skips: remove this test's expectation of justifications if that is intended"
    for check in skipped:
        (index,) = [i for i, line in enumerate(lines) if re.fullmatch(rf"\s*-\s*{check}\s*", line)]
        comment = []
        for line in reversed(lines[:index]):
            if not line.strip().startswith("#"):
                break
            comment.append(line)
        text = " ".join(reversed(comment))
        assert check in text, f"{check} is skipped without a comment naming it right above"
        assert len(text) > 80, f"{check} is skipped without a justification"


def test_monitor_cronjob_was_really_scanned(checkov_results: CheckovResults) -> None:
    cronjob = "CronJob.lighthouse-staging.model-monitor"
    assert cronjob in checkov_results, sorted(checkov_results)
    assert checkov_results[cronjob]["passed"] >= CRONJOB_HARDENING_CHECKS
    assert checkov_results[cronjob]["failed"] == set()


def test_a_weakened_monitor_cronjob_fails_checkov(checkov_results: CheckovResults) -> None:
    resource = "CronJob.lighthouse-staging.weakened-model-monitor"
    assert checkov_results[resource]["failed"] >= {"CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_40"}
