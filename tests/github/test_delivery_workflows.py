"""The delivery path on a real GitHub repository, read from the workflows: who may push and with what, what each
dispatch targets, which tools and packages each job gets. Each rule is one that a first run on GitHub broke."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.github.test_workflow_graph import ALL, WORKFLOWS, jobs, permissions, runs, steps, triggers, uses

ROOT = Path(__file__).resolve().parents[2]
SETUP_ACTION = ROOT / ".github/actions/setup/action.yml"
LOCAL_SETUP = "./.github/actions/setup"
APP_TOKEN = "actions/create-github-app-token@"
#: `gh workflow run X`, `gh api .../actions/workflows/X/dispatches`, octokit's createWorkflowDispatch(workflow_id: X)
DISPATCHES = (
    re.compile(r"gh\s+workflow\s+run\s+['\"]?([\w.-]+)"),
    re.compile(r"actions/workflows/([\w.-]+)/dispatches"),
    re.compile(r"workflow_id:\s*['\"]([\w.-]+)['\"]"),
)


#: Targets that need no Python environment (terraform, apt).
NO_PYTHON_TARGETS = {"terraform-plan", "terraform-apply", "terraform-validate", "test-tools"}


def pushing_jobs() -> dict[tuple[str, str], dict[str, Any]]:
    return {(n, j): job for n, w in ALL.items() for j, job in jobs(w).items() if "ci.promote" in runs(job)}


def test_every_dispatch_targets_a_workflow_that_accepts_dispatch() -> None:
    found = []
    for name in ALL:
        text = (WORKFLOWS / name).read_text()
        for pattern in DISPATCHES:
            for target in pattern.findall(text):
                found.append((name, target))
                assert target in ALL, f"{name} dispatches {target}, which is not in .github/workflows"
                assert "workflow_dispatch" in triggers(ALL[target]), f"{name} dispatches {target}: HTTP 422"
    assert ("monitor.yml", "main.yml") in found


def test_the_dispatch_check_catches_a_target_without_workflow_dispatch() -> None:
    on = dict(ALL["main.yml"]["on"])
    on.pop("workflow_dispatch")
    assert "workflow_dispatch" not in triggers({"on": on})


def test_the_app_token_is_minted_only_right_before_the_step_that_pushes() -> None:
    minted = {
        (n, j)
        for n, w in ALL.items()
        for j, job in jobs(w).items()
        for s in steps(job)
        if uses(s).startswith(APP_TOKEN)
    }
    assert minted == set(pushing_jobs()) == {("main.yml", "staging"), ("promote.yml", "production")}
    for (name, job_name), job in pushing_jobs().items():
        job_steps = steps(job)
        (index,) = [i for i, s in enumerate(job_steps) if uses(s).startswith(APP_TOKEN)]
        token_step, push_step = job_steps[index], job_steps[index + 1]
        assert "ci.promote" in str(push_step.get("run")), f"{name}/{job_name}: the token must go straight to the push"
        assert index + 2 == len(job_steps), f"{name}/{job_name}: nothing runs after the push with the token around"
        assert token_step["if"] == "vars.PROMOTION_APP_ID != ''"
        assert token_step["with"]["permission-contents"] == "write"
        assert token_step["with"]["repositories"] == "${{ github.event.repository.name }}"
        assert set(token_step["with"]) == {"app-id", "private-key", "repositories", "permission-contents"}
        env = push_step["env"]
        assert env["LIGHTHOUSE_PUSH_TOKEN"] == "${{ steps.app-token.outputs.token || github.token }}"
        assert "--github-identity" in push_step["run"]
        text = yaml.safe_dump(job)
        assert text.count("steps.app-token.outputs.token") == 1, f"{name}/{job_name}: the token goes nowhere else"


def test_no_checkout_keeps_credentials() -> None:
    for name, workflow in ALL.items():
        for job_name, job in jobs(workflow).items():
            for step in steps(job):
                if uses(step).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{name}/{job_name}"


def test_every_workflow_that_sets_up_python_uses_the_composite_action() -> None:
    for name, workflow in ALL.items():
        text = (WORKFLOWS / name).read_text()
        assert "actions/setup-python@" not in text, f"{name}: use {LOCAL_SETUP}"
        assert "astral-sh/setup-uv@" not in text, f"{name}: use {LOCAL_SETUP}"
        for job_name, job in jobs(workflow).items():
            script = runs(job)
            targets = set(re.findall(r"\bmake\s+([\w-]+)", script)) - NO_PYTHON_TARGETS
            if ".venv/bin/" in script or targets:
                assert any(uses(s) == LOCAL_SETUP for s in steps(job)), f"{name}/{job_name} runs make without setup"
    using = {n for n, w in ALL.items() for job in jobs(w).values() for s in steps(job) if uses(s) == LOCAL_SETUP}
    assert using == set(ALL) - {"pr-comment.yml"}  # it runs the runner's python, standard library only


def test_the_composite_action_pins_uv_and_keys_its_cache_by_the_python_version() -> None:
    action = yaml.safe_load(SETUP_ACTION.read_text())
    setup_uv = next(s for s in action["runs"]["steps"] if str(s.get("uses", "")).startswith("astral-sh/setup-uv@"))
    assert re.fullmatch(r"astral-sh/setup-uv@[0-9a-f]{40}", setup_uv["uses"])
    makefile = (ROOT / "Makefile").read_text()
    assert setup_uv["with"]["version"] == re.search(r"^UV_VERSION := (\S+)$", makefile, re.M).group(1)  # type: ignore[union-attr]
    assert setup_uv["with"]["python-version"] == "${{ inputs.python-version }}"  # part of setup-uv's cache key
    assert "${{ inputs.python-version }}" in setup_uv["with"]["cache-suffix"]
    assert setup_uv["with"]["enable-cache"] == "${{ inputs.cache }}"


@pytest.mark.parametrize(
    ("name", "job_name"), [("main.yml", "build"), ("main.yml", "staging"), ("promote.yml", "production")]
)
def test_jobs_that_publish_or_push_use_no_cache(name: str, job_name: str) -> None:
    setup = next(s for s in steps(jobs(ALL[name])[job_name]) if uses(s) == LOCAL_SETUP)
    assert setup["with"]["cache"] == "false"


def test_promotion_jobs_install_the_ci_group_only() -> None:
    for (name, job_name), job in pushing_jobs().items():
        setup = next(s for s in steps(job) if uses(s) == LOCAL_SETUP)
        assert setup["with"]["install"] == "ci", f"{name}/{job_name}"
    gitops = (ROOT / "mk/gitops.mk").read_text()
    assert re.search(r"^\t\$\(UV\) sync .*--only-group ci$", gitops, re.M)
    pyproject = (ROOT / "pyproject.toml").read_text()
    group = re.search(r"^ci = \[(.*?)\]", pyproject, re.M | re.S).group(1)  # type: ignore[union-attr]
    assert "mlflow" not in group, "the promotion reads the registry over REST; MLflow is hundreds of MB"


def test_pull_requests_get_the_tools_their_tests_need_and_require_them() -> None:
    checks = jobs(ALL["pr.yml"])["checks"]
    assert checks["env"]["LIGHTHOUSE_REQUIRE_TOOLS"] == "1"
    order = [uses(s) or str(s.get("run")) for s in steps(checks)]
    test_index = order.index("make test")
    assert order.index("make test-tools") < test_index
    assert any(u.startswith("hashicorp/setup-terraform@") for u in order[:test_index])
    assert checks["name"] == "pr / checks"


def test_attestation_is_decided_then_made_or_skipped_with_a_notice() -> None:
    build = jobs(ALL["main.yml"])["build"]
    decide = next(s for s in steps(build) if s.get("id") == "attest")
    assert "ci.attestation decide" in decide["run"]
    attest = next(s for s in steps(build) if uses(s).startswith("actions/attest-build-provenance@"))
    assert attest["if"] == "steps.attest.outputs.enabled == 'true'"
    production = jobs(ALL["promote.yml"])["production"]
    push = next(s for s in steps(production) if "ci.promote" in str(s.get("run")))
    assert "--verify-attestation" in push["run"]
    assert push["env"]["VERIFY"] == "${{ steps.attest.outputs.enabled == 'true' && 'yes' || '' }}"
    assert permissions(production)["attestations"] == "read"


def test_main_builds_only_from_main_when_dispatched() -> None:
    assert jobs(ALL["main.yml"])["build"]["if"] == "github.ref == 'refs/heads/main'"
