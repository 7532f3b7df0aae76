"""The GitHub governance module codifies how promotions are approved: read from the module's source."""

from __future__ import annotations

import re

import pytest

from tests.terraform.hcl import TERRAFORM_DIR, Module, load, load_module

GOVERNANCE = TERRAFORM_DIR / "modules" / "github-governance"


@pytest.fixture(scope="module")
def governance() -> Module:
    return load_module(GOVERNANCE)


def _deployment_policy_for(module: Module, environment_resource: str) -> dict[str, object]:
    for (kind, _name), body in module.resources.items():
        if kind == "github_repository_environment_deployment_policy" and body["environment"] == (
            f"${{github_repository_environment.{environment_resource}.environment}}"
        ):
            return body
    raise AssertionError(f"no deployment policy for environment {environment_resource}")


@pytest.mark.parametrize("environment", ["production", "infrastructure"])
def test_protected_environments_require_a_reviewer_other_than_the_deployer(
    governance: Module, environment: str
) -> None:
    env = governance.resource("github_repository_environment", environment)
    assert env["prevent_self_review"] is True
    assert env["can_admins_bypass"] is False
    [reviewers] = env["reviewers"]
    # The reviewer lists come from the production reviewer variables, never from an empty literal.
    assert reviewers["users"] == "${local.production_reviewer_user_ids}"
    assert reviewers["teams"] == "${local.production_reviewer_team_ids}"
    assert "data.github_user.production_reviewer" in governance.locals["production_reviewer_user_ids"]
    assert "data.github_team.production_reviewer" in governance.locals["production_reviewer_team_ids"]
    users = governance.data[("github_user", "production_reviewer")]
    assert users["for_each"] == "${toset(var.production_reviewer_users)}"
    teams = governance.data[("github_team", "production_reviewer")]
    assert teams["for_each"] == "${toset(var.production_reviewer_teams)}"


def test_at_least_one_production_reviewer_is_required(governance: Module) -> None:
    spec = governance.variables["production_reviewer_users"]
    conditions = [v["condition"] for v in spec["validation"]]
    expected = "length(var.production_reviewer_users) + length(var.production_reviewer_teams) >= 1"
    assert any(expected in c for c in conditions), conditions
    assert spec["default"] == [], "a default reviewer would hide a missing configuration"


@pytest.mark.parametrize("environment", ["staging", "production", "infrastructure", "verification"])
def test_environments_deploy_from_the_release_branch_only(governance: Module, environment: str) -> None:
    env = governance.resource("github_repository_environment", environment)
    [branch_policy] = env["deployment_branch_policy"]
    # Custom policies only: "any protected branch" would admit branches other than main.
    assert branch_policy == {"protected_branches": False, "custom_branch_policies": True}
    policy = _deployment_policy_for(governance, environment)
    assert policy["branch_pattern"] == "${var.release_branch}"
    assert "tag_pattern" not in policy


def test_release_branch_is_main_and_cannot_be_a_pattern(governance: Module) -> None:
    spec = governance.variables["release_branch"]
    assert spec["default"] == "main"
    [validation] = spec["validation"]
    pattern = re.search(r'regex\("(.+?)", var\.release_branch\)', validation["condition"])
    assert pattern, validation["condition"]
    allowed = re.compile(pattern.group(1).replace("\\\\", "\\"))
    assert allowed.fullmatch("main")
    for wildcard in ["*", "main*", "release/**", "[mr]ain", "ma?n"]:
        assert not allowed.fullmatch(wildcard), f"release_branch accepts the pattern {wildcard!r}"


def test_production_wait_timer_is_optional_and_bounded(governance: Module) -> None:
    env = governance.resource("github_repository_environment", "production")
    assert env["wait_timer"] == "${var.production_wait_timer_minutes}"
    spec = governance.variables["production_wait_timer_minutes"]
    assert spec["default"] == 0
    assert "43200" in spec["validation"][0]["condition"]


def test_ruleset_on_main_requires_review_and_the_pr_checks(governance: Module) -> None:
    ruleset = governance.resource("github_repository_ruleset", "release_branch")
    assert ruleset["enforcement"] == "active"
    assert ruleset["target"] == "branch"
    assert "bypass_actors" not in ruleset, "only the promotion App may bypass, through the dynamic block"
    [conditions] = ruleset["conditions"]
    assert conditions["ref_name"][0]["include"] == ["refs/heads/${var.release_branch}"]
    [rules] = ruleset["rules"]
    assert rules["deletion"] is True
    assert rules["non_fast_forward"] is True
    [pull_request] = rules["pull_request"]
    assert pull_request["required_approving_review_count"] == "${var.required_approvals}"
    assert pull_request["dismiss_stale_reviews_on_push"] is True
    assert pull_request["require_last_push_approval"] is True
    [checks] = rules["required_status_checks"]
    assert checks["strict_required_status_checks_policy"] is True
    [dynamic] = checks["dynamic"]
    check = dynamic["required_check"]
    assert check["for_each"] == "${toset(var.required_status_checks)}"
    assert check["content"][0]["integration_id"] == "${var.status_check_integration_id}"


def test_required_checks_default_to_the_pr_workflow(governance: Module) -> None:
    assert governance.variables["required_status_checks"]["default"] == ["pr / checks"]
    assert governance.variables["status_check_integration_id"]["default"] == 15368  # GitHub Actions
    approvals = governance.variables["required_approvals"]
    assert approvals["default"] >= 1
    assert "var.required_approvals >= 1" in approvals["validation"][0]["condition"]


def test_workflow_token_is_read_only(governance: Module) -> None:
    permissions = governance.resource("github_workflow_repository_permissions", "this")
    assert permissions["default_workflow_permissions"] == "read"
    assert permissions["can_approve_pull_request_reviews"] is False


def test_oidc_subject_keeps_the_default_format_the_trust_policies_match(governance: Module) -> None:
    template = governance.resource("github_actions_repository_oidc_subject_claim_customization_template", "this")
    assert template["use_default"] is True


def test_repository_root_wires_reviewers_and_checks_through() -> None:
    root = load_module(TERRAFORM_DIR / "envs" / "repository")
    call = root.modules["governance"]
    for name in ["production_reviewer_users", "production_reviewer_teams", "required_status_checks"]:
        assert call[name] == f"${{var.{name}}}", f"repository root does not pass {name}"
    assert root.variables["required_status_checks"]["default"] == ["pr / checks"]
    example = load(TERRAFORM_DIR / "envs" / "repository" / "example.tfvars")
    assert example["production_reviewer_users"], "the example must show a production reviewer"


def test_the_only_bypass_actor_is_the_promotion_app(governance: Module) -> None:
    """The promotion commits land straight on main: the ruleset exempts exactly one GitHub App, when configured."""
    ruleset = governance.resource("github_repository_ruleset", "release_branch")
    dynamics = [block for block in ruleset.get("dynamic", []) if "bypass_actors" in block]
    [block] = dynamics
    bypass = block["bypass_actors"]
    assert bypass["for_each"] == "${var.promotion_app_id == null ? [] : [var.promotion_app_id]}"
    [content] = bypass["content"]
    assert content == {"actor_id": "${bypass_actors.value}", "actor_type": "Integration", "bypass_mode": "always"}
    spec = governance.variables["promotion_app_id"]
    assert spec["default"] is None, "no App by default: a fresh fork has none"
    assert "floor(var.promotion_app_id)" in spec["validation"][0]["condition"]


def test_the_app_id_reaches_only_the_promotion_environments(governance: Module) -> None:
    promotion = governance.locals["promotion_variables"]
    assert "staging" in promotion
    assert "production" in promotion
    assert "infrastructure" not in promotion
    assert "PROMOTION_APP_ID" in promotion
    root = load_module(TERRAFORM_DIR / "envs" / "repository")
    assert root.modules["governance"]["promotion_app_id"] == "${var.promotion_app_id}"


def test_the_required_check_names_a_job_of_the_pr_workflow(governance: Module) -> None:
    """A required check that never reports blocks every merge: it must be a check-run name pr.yml produces."""
    import yaml

    workflow = yaml.safe_load((TERRAFORM_DIR.parent / ".github" / "workflows" / "pr.yml").read_text())
    names = {job.get("name", job_id) for job_id, job in workflow["jobs"].items()}
    for check in governance.variables["required_status_checks"]["default"]:
        assert check in names, f"required check {check!r} is not a job name in pr.yml ({sorted(names)})"
