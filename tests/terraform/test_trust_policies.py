"""OIDC trust policies pin this repository and, for production, the protected environment; weakening fails."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.terraform.hcl import TERRAFORM_DIR
from tests.terraform.trust import rendered_subjects, trust_policy_problems

PLATFORM = TERRAFORM_DIR / "modules" / "aws-platform"


def test_trust_policies_have_no_problem() -> None:
    assert trust_policy_problems(TERRAFORM_DIR) == []


def test_each_role_trusts_exact_subjects_of_this_repository() -> None:
    subjects = rendered_subjects(PLATFORM, "acme", "model")
    assert subjects["production_role"] == ["repo:acme/model:environment:production"]
    assert subjects["terraform_apply_role"] == ["repo:acme/model:environment:infrastructure"]
    assert subjects["pr_role"] == ["repo:acme/model:pull_request"]
    assert subjects["terraform_plan_role"] == ["repo:acme/model:pull_request"]
    assert sorted(subjects["main_role"]) == [
        "repo:acme/model:environment:staging",
        "repo:acme/model:ref:refs/heads/main",
    ]


def test_subjects_follow_the_repository_they_are_given() -> None:
    # The owner/repo come from variables, not literals: a fork gets roles bound to the fork.
    subjects = rendered_subjects(PLATFORM, "someone-else", "their-fork")
    assert all(s.startswith("repo:someone-else/their-fork:") for claims in subjects.values() for s in claims)


def _replace(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"weakening no longer applies: {old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


WEAKENINGS = {
    "repo wildcard": (
        _replace(
            "modules/aws-platform/oidc.tf",
            'production     = "repo:${local.repository}:environment:${var.production_environment}"',
            'production     = "repo:*:environment:${var.production_environment}"',
        ),
        "wildcard",
    ),
    "owner wildcard": (
        _replace(
            "modules/aws-platform/oidc.tf",
            'repository        = "${var.github_owner}/',
            'repository        = "*/',
        ),
        "wildcard",
    ),
    "any branch": (
        _replace("modules/aws-platform/oidc.tf", "ref:refs/heads/${var.main_branch}", "ref:refs/heads/*"),
        "wildcard",
    ),
    "production without environment": (
        _replace(
            "modules/aws-platform/oidc.tf",
            "subjects           = [local.oidc_subjects.production]",
            "subjects           = [local.oidc_subjects.production, local.oidc_subjects.main_branch]",
        ),
        "production_role trusts ['ref:refs/heads/main']",
    ),
    "StringLike": (
        _replace(
            "modules/github-oidc-role/main.tf",
            'test     = "StringEquals"\n      variable = "token.actions.githubusercontent.com:sub"',
            'test     = "StringLike"\n      variable = "token.actions.githubusercontent.com:sub"',
        ),
        "uses StringLike",
    ),
    "loose validation": (
        _replace("modules/github-oidc-role/variables.tf", "(pull_request|ref:refs/heads/", "(.*|ref:refs/heads/"),
        "subjects validation accepts",
    ),
    "second trust policy": (
        _replace(
            "modules/aws-platform/main.tf",
            'data "aws_partition" "current" {}',
            'data "aws_partition" "current" {}\n# sts:AssumeRoleWithWebIdentity for a hand-made role',
        ),
        "outside modules/github-oidc-role",
    ),
}


@pytest.mark.parametrize("weakening", sorted(WEAKENINGS))
def test_a_weakened_trust_policy_is_flagged(tmp_path: Path, weakening: str) -> None:
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform"))
    edit, expected = WEAKENINGS[weakening]
    edit(copy)
    problems = trust_policy_problems(copy)
    assert any(expected in problem for problem in problems), problems
