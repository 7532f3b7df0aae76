"""Invariants of the GitHub OIDC trust policies, checked on the real tree and on weakened copies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.terraform.hcl import load_module, render, tf_files

ROLE_MODULE = "github-oidc-role"
WILDCARDS = re.compile(r"[*?\[\]]")

#: role module call in aws-platform -> subject kinds it may trust (a new role is added here on purpose).
EXPECTED_SUBJECTS = {
    "pr_role": {"pull_request"},
    "main_role": {"ref:refs/heads/main", "environment:staging"},
    "production_role": {"environment:production"},
    "terraform_plan_role": {"pull_request"},
    "terraform_apply_role": {"environment:infrastructure"},
}
MUST_TRUST = {
    "production_role": {"environment:production"},
    "terraform_apply_role": {"environment:infrastructure"},
}

GOOD_SUBJECTS = [
    "repo:acme/model:pull_request",
    "repo:acme/model:ref:refs/heads/main",
    "repo:acme/model:environment:production",
]
BAD_SUBJECTS = [
    "*",
    "repo:*",
    "repo:acme/*",
    "repo:acme/*:pull_request",
    "repo:*/model:pull_request",
    "repo:acme/model:*",
    "repo:acme/model:ref:refs/heads/*",
    "repo:acme/model:ref:refs/heads/ma?n",
    "repo:acme/model:environment:*",
    "repo:acme/model:environment:prod*",
    "repo:acme/model",
]


def trust_policy_problems(terraform_dir: Path, owner: str = "acme", repository: str = "model") -> list[str]:
    """Every way the trust policies under `terraform_dir` could admit a fork, another repository or branch."""
    problems = _role_module_problems(terraform_dir / "modules" / ROLE_MODULE)
    problems += _stray_trust_policies(terraform_dir)
    problems += _subject_problems(terraform_dir / "modules" / "aws-platform", owner, repository)
    return problems


def rendered_subjects(platform_dir: Path, owner: str, repository: str) -> dict[str, list[str]]:
    """The `sub` claims each role module call in aws-platform trusts, for the given repository."""
    platform = load_module(platform_dir)
    variables = {**platform.defaults(), "github_owner": owner, "github_repository": repository}
    return {
        name: list(render(call["subjects"], variables, platform.locals))
        for name, call in platform.modules.items()
        if call["source"] == f"../{ROLE_MODULE}"
    }


def _role_module_problems(role_dir: Path) -> list[str]:
    role = load_module(role_dir)
    problems: list[str] = []
    trust = role.data.get(("aws_iam_policy_document", "trust"))
    if trust is None:
        return [f"{role_dir}: no aws_iam_policy_document.trust"]
    statements = trust["statement"]
    if len(statements) != 1:
        problems.append(f"{role_dir}: trust policy must have exactly one statement, has {len(statements)}")
    for statement in statements:
        if statement.get("effect") != "Allow" or statement.get("actions") != ["sts:AssumeRoleWithWebIdentity"]:
            problems.append(f"{role_dir}: trust statement must only Allow sts:AssumeRoleWithWebIdentity")
        principals = statement.get("principals", [])
        if principals != [{"type": "Federated", "identifiers": ["${var.oidc_provider_arn}"]}]:
            problems.append(f"{role_dir}: trust principal must be the GitHub OIDC provider only, got {principals}")
        conditions = {c["variable"]: c for c in statement.get("condition", [])}
        for condition in statement.get("condition", []):
            if condition["test"] != "StringEquals":
                problems.append(f"{role_dir}: condition on {condition['variable']} uses {condition['test']}")
        aud = conditions.get("token.actions.githubusercontent.com:aud")
        if not aud or aud["values"] != ["sts.amazonaws.com"]:
            problems.append(f"{role_dir}: audience must be exactly sts.amazonaws.com")
        sub = conditions.get("token.actions.githubusercontent.com:sub")
        if not sub or sub["values"] != "${var.subjects}":
            problems.append(f"{role_dir}: sub must be matched against var.subjects")
    problems += _subject_validation_problems(role_dir, role.variables.get("subjects", {}))
    return problems


def _subject_validation_problems(role_dir: Path, spec: dict[str, Any]) -> list[str]:
    """Run the regex of the module's own `subjects` validation on good and bad claims."""
    for validation in spec.get("validation", []):
        found = re.search(r'regex\("(.+?)", sub\)', validation["condition"])
        if found:
            allowed = re.compile(found.group(1).replace("\\\\", "\\"))
            problems = [f"{role_dir}: subjects validation rejects {s!r}" for s in GOOD_SUBJECTS if not allowed.match(s)]
            problems += [f"{role_dir}: subjects validation accepts {s!r}" for s in BAD_SUBJECTS if allowed.match(s)]
            return problems
    return [f"{role_dir}: var.subjects has no regex validation"]


def _stray_trust_policies(terraform_dir: Path) -> list[str]:
    """Only the role module may hold a web-identity trust policy, so every OIDC role passes its checks."""
    return [
        f"{path}: a GitHub OIDC trust policy outside modules/{ROLE_MODULE}"
        for path in tf_files(terraform_dir)
        if ROLE_MODULE not in path.parts and "AssumeRoleWithWebIdentity" in path.read_text(encoding="utf-8")
    ]


def _subject_problems(platform_dir: Path, owner: str, repository: str) -> list[str]:
    problems: list[str] = []
    prefix = f"repo:{owner}/{repository}:"
    try:
        subjects = rendered_subjects(platform_dir, owner, repository)
    except ValueError as error:
        return [f"{platform_dir}: cannot evaluate a role's subjects: {error}"]
    for name, claims in subjects.items():
        allowed = EXPECTED_SUBJECTS.get(name)
        if allowed is None:
            problems.append(
                f"{platform_dir}: role {name} is not in the reviewed list of roles (tests/terraform/trust.py)"
            )
            continue
        kinds = set()
        for claim in claims:
            if WILDCARDS.search(claim):
                problems.append(f"{platform_dir}: role {name} trusts a wildcard subject {claim!r}")
            if not claim.startswith(prefix):
                problems.append(f"{platform_dir}: role {name} trusts {claim!r}, not {prefix}...")
                continue
            kinds.add(claim[len(prefix) :])
        if not kinds <= allowed:
            problems.append(f"{platform_dir}: role {name} trusts {sorted(kinds - allowed)} beyond {sorted(allowed)}")
        if not MUST_TRUST.get(name, set()) <= kinds:
            problems.append(f"{platform_dir}: role {name} must be bound to {sorted(MUST_TRUST[name])}")
    for name in sorted(set(EXPECTED_SUBJECTS) - set(subjects)):
        problems.append(f"{platform_dir}: role {name} is missing")
    return problems
