"""The workflows' job graph and security properties, read from the YAML itself.

Generic rules hold for every workflow in .github/workflows (other issues add theirs); the specific ones pin down
the delivery flow: what runs on a PR, who may write, which job is the production gate.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github/workflows"
MAKEFILES = [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))]

#: Targets that other issues own and define in their own mk/*.mk; until they land, `make X` for these is expected.
PENDING_TARGETS = {
    "gates",  # issue 3: quality/fairness/explanation gates → reports/gates.json
    "report",  # issue 3: reports/pr_report.md (starts with <!-- lighthouse-pr-report -->)
    "image-lint",  # issue 4: hadolint on the Dockerfile
    "k8s-check",  # issue 6: render and validate every overlay
}
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+\.\d+\.\d+\b")
#: Expressions that point a checkout at the pull request's code.
PR_REF = re.compile(r"pull_request|workflow_run|head_ref|head_sha|head\.sha|head_branch|refs/pull/|head\.repo")
WRITE_SCOPES_ALLOWED_ON_PR = {"id-token"}  # forks never get it; cloud-read jobs may ask for it


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    # YAML 1.1 reads the key `on` as the boolean True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def triggers(workflow: dict[str, Any]) -> set[str]:
    on = workflow["on"]
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return set(on)
    return set(on)


def jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(workflow["jobs"])


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(job))


def uses(step: dict[str, Any]) -> str:
    return str(step.get("uses", ""))


def permissions(job: dict[str, Any]) -> dict[str, str]:
    perms = job.get("permissions") or {}
    assert isinstance(perms, dict), f"job permissions must be a mapping, got {perms!r}"
    return {str(k): str(v) for k, v in perms.items()}


def writes(job: dict[str, Any]) -> set[str]:
    return {scope for scope, level in permissions(job).items() if level == "write"}


def concurrency(workflow: dict[str, Any], job: dict[str, Any]) -> dict[str, Any] | None:
    value = job.get("concurrency", workflow.get("concurrency"))
    if value is None:
        return None
    return {"group": value, "cancel-in-progress": False} if isinstance(value, str) else dict(value)


ALL = {path.name: load(path) for path in sorted(WORKFLOWS.glob("*.y*ml"))}
WORKFLOW_IDS = sorted(ALL)


def test_the_delivery_workflows_exist() -> None:
    assert {"pr.yml", "pr-comment.yml", "main.yml", "promote.yml"} <= set(ALL)


# --- rules for every workflow ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", WORKFLOW_IDS)
def test_every_action_is_pinned_to_a_commit_with_its_version(name: str) -> None:
    for number, line in enumerate((WORKFLOWS / name).read_text().splitlines(), 1):
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
        if not match or match.group(1).startswith("./"):
            continue
        ref, rest = match.groups()
        assert SHA_PIN.match(ref), f"{name}:{number}: {ref} is not pinned to a full 40-hex commit SHA"
        assert VERSION_COMMENT.search(rest), f"{name}:{number}: {ref} has no `# vX.Y.Z` comment"


@pytest.mark.parametrize("name", WORKFLOW_IDS)
def test_top_level_permissions_are_empty_or_read_only(name: str) -> None:
    workflow = ALL[name]
    assert "permissions" in workflow, f"{name}: no top-level permissions (the default token may be read-write)"
    perms = workflow["permissions"]
    if isinstance(perms, str):
        assert perms == "read-all", name
    else:
        assert all(level in {"read", "none"} for level in (perms or {}).values()), f"{name}: {perms}"


@pytest.mark.parametrize("name", WORKFLOW_IDS)
def test_privileged_triggers_never_check_out_the_pull_request(name: str) -> None:
    workflow = ALL[name]
    if not triggers(workflow) & {"pull_request_target", "workflow_run"}:
        return
    for job_name, job in jobs(workflow).items():
        for step in steps(job):
            if not uses(step).startswith("actions/checkout@"):
                continue
            inputs = step.get("with") or {}
            for key in ("ref", "repository"):
                assert not PR_REF.search(str(inputs.get(key, ""))), f"{name}/{job_name}: checkout {key} from the PR"


@pytest.mark.parametrize("name", WORKFLOW_IDS)
def test_credentials_persist_only_in_jobs_that_push(name: str) -> None:
    for job_name, job in jobs(ALL[name]).items():
        for step in steps(job):
            if uses(step).startswith("actions/checkout@"):
                persist = (step.get("with") or {}).get("persist-credentials")
                if persist is not False:
                    assert "contents" in writes(job), f"{name}/{job_name}: checkout keeps credentials it cannot use"


@pytest.mark.parametrize("name", WORKFLOW_IDS)
def test_pull_request_jobs_have_no_write_token(name: str) -> None:
    workflow = ALL[name]
    if "pull_request" not in triggers(workflow):
        return
    for job_name, job in jobs(workflow).items():
        assert "permissions" in job, f"{name}/{job_name}: set job permissions explicitly"
        assert writes(job) <= WRITE_SCOPES_ALLOWED_ON_PR, f"{name}/{job_name}: write token while running PR code"


@pytest.mark.parametrize("name", WORKFLOW_IDS)
def test_promotions_are_serialised_and_never_cancelled(name: str) -> None:
    workflow = ALL[name]
    for job_name, job in jobs(workflow).items():
        if "ci.promote" not in runs(job):
            continue
        group = concurrency(workflow, job)
        assert group is not None, f"{name}/{job_name}: a promotion without a concurrency group"
        assert "promote" in str(group["group"]), f"{name}/{job_name}: group {group['group']!r}"
        assert group.get("cancel-in-progress") is False, f"{name}/{job_name}: a deploy must never be cancelled"


def make_targets_defined() -> set[str]:
    targets: set[str] = set()
    for path in MAKEFILES:
        for line in path.read_text().splitlines():
            match = re.match(r"^([A-Za-z0-9_.-]+(?:[ \t]+[A-Za-z0-9_.-]+)*)[ \t]*:(?!=)", line)
            if match:
                targets.update(match.group(1).split())
    return targets


@pytest.mark.parametrize("name", WORKFLOW_IDS)
def test_make_targets_and_ci_modules_that_steps_call_exist(name: str) -> None:
    defined = make_targets_defined() | PENDING_TARGETS
    for job in jobs(ALL[name]).values():
        script = runs(job)
        for words in re.findall(r"\bmake((?:[ \t]+[^\s;&|<>]+)+)", script):
            called = [w for w in words.split() if not w.startswith("-") and "=" not in w]
            assert called, f"{name}: bare `make`"
            missing = set(called) - defined
            assert not missing, f"{name}: `make {' '.join(sorted(missing))}` is not a target in Makefile or mk/*.mk"
        for module in re.findall(r"-m\s+(ci\.[\w.]+)", script):
            assert importlib.util.find_spec(module) is not None, f"{name}: python -m {module} does not exist"


def test_pending_targets_are_only_those_other_issues_own() -> None:
    """When a pending target lands, it must be defined once (not by this issue's mk file)."""
    gitops_mk = (ROOT / "mk/gitops.mk").read_text()
    for target in PENDING_TARGETS:
        assert not re.search(rf"^{re.escape(target)}\s*:(?!=)", gitops_mk, re.M), target


# --- the delivery flow ----------------------------------------------------------------------------------------------


def test_pull_requests_run_only_the_checks_job_without_secrets() -> None:
    pr = ALL["pr.yml"]
    assert triggers(pr) == {"pull_request"}
    on_pr = {
        (name, job_name)
        for name, workflow in ALL.items()
        if triggers(workflow) & {"pull_request", "pull_request_target"}
        for job_name in jobs(workflow)
    }
    assert ("pr.yml", "checks") in on_pr
    assert not any(name in {"pr-comment.yml", "main.yml", "promote.yml"} for name, _ in on_pr)
    checks = jobs(pr)["checks"]
    assert permissions(checks) == {"contents": "read"}
    assert "secrets." not in (WORKFLOWS / "pr.yml").read_text()
    script = runs(checks)
    for target in ("lint", "repro", "gates", "report", "test", "k8s-check", "overlays-check", "image-lint"):
        assert re.search(rf"\bmake {re.escape(target)}\b", script), f"pr/checks does not run make {target}"
    build = [s for s in steps(checks) if uses(s).startswith("docker/build-push-action@")]
    assert build, "pr/checks does not build the image"
    assert all((s.get("with") or {}).get("push") is False for s in build), "the PR image must not be pushed"
    uploads = {
        (s.get("with") or {}).get("name") for s in steps(checks) if uses(s).startswith("actions/upload-artifact@")
    }
    assert {"pr-comment", "reports"} <= uploads
    assert "GITHUB_STEP_SUMMARY" in script


def test_the_comment_workflow_is_trusted_and_minimal() -> None:
    workflow = ALL["pr-comment.yml"]
    assert triggers(workflow) == {"workflow_run"}
    assert workflow["on"]["workflow_run"]["workflows"] == [ALL["pr.yml"]["name"]]
    (job,) = jobs(workflow).values()
    assert permissions(job) == {"actions": "read", "pull-requests": "write"}
    download = next(s for s in steps(job) if uses(s).startswith("actions/download-artifact@"))
    assert str(download["with"]["path"]).startswith("${{ runner.temp }}"), "artifact must land outside the checkout"
    assert "ci.pr_comment post" in runs(job)
    assert "${{" not in runs(job), "no expression is expanded into a script; values go through env"


def test_main_builds_with_packages_write_and_only_the_promotion_writes_contents() -> None:
    workflow = ALL["main.yml"]
    assert triggers(workflow) == {"push", "workflow_dispatch"}  # dispatched by monitor.yml to retrain
    assert workflow["on"]["push"]["branches"] == ["main"]
    build, staging = jobs(workflow)["build"], jobs(workflow)["staging"]
    assert writes(build) == {"packages", "id-token", "attestations"}
    assert writes(staging) == {"contents"}
    assert staging["needs"] == "build"
    image = next(s for s in steps(build) if uses(s).startswith("docker/build-push-action@"))["with"]
    assert image["push"] is True
    assert image["sbom"] is True
    assert image["provenance"] == "mode=max"
    assert any(uses(s).startswith("actions/attest-build-provenance@") for s in steps(build))
    assert "ci.promote --env staging" in runs(staging)


def test_production_promotion_is_gated_by_the_production_environment() -> None:
    workflow = ALL["promote.yml"]
    assert triggers(workflow) == {"workflow_dispatch"}
    job = jobs(workflow)["production"]
    environment = job["environment"]
    assert (environment if isinstance(environment, str) else environment["name"]) == "production"
    assert writes(job) == {"contents"}
    assert "ci.promote --env production --from-env" in runs(job)


def test_only_promotion_jobs_can_write_to_the_repository() -> None:
    writers = {
        (name, job_name)
        for name in ("pr.yml", "pr-comment.yml", "main.yml", "promote.yml")
        for job_name, job in jobs(ALL[name]).items()
        if "contents" in writes(job)
    }
    assert writers == {("main.yml", "staging"), ("promote.yml", "production")}


@pytest.mark.parametrize("name", ["pr.yml", "pr-comment.yml", "main.yml", "promote.yml"])
def test_scripts_take_values_from_env_not_expressions(name: str) -> None:
    """Template injection: `${{ }}` inside `run:` is pasted into the shell before it runs."""
    for job_name, job in jobs(ALL[name]).items():
        assert "${{" not in runs(job), f"{name}/{job_name}"
