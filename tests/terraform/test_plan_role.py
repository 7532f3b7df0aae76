"""The terraform plan role runs a same-repository pull request's code: it may read the platform's settings and the
state, and nothing else. Read from the module's source (terraform validate/plan cannot run here)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.terraform.hcl import TERRAFORM_DIR, Module, load_module

PLATFORM = TERRAFORM_DIR / "modules" / "aws-platform"
READ_VERBS = re.compile(r"^[a-z0-9-]+:(Get|List|Describe)[A-Za-z]*$")


@pytest.fixture(scope="module")
def platform() -> Module:
    return load_module(PLATFORM)


def statements(platform: Module) -> list[dict[str, Any]]:
    document = platform.data[("aws_iam_policy_document", "terraform_plan")]
    found = list(document.get("statement", []))
    for block in document.get("dynamic", []):
        found += block["statement"]["content"]
    return found


def test_the_plan_role_has_no_managed_policy(platform: Module) -> None:
    call = platform.modules["terraform_plan_role"]
    assert "managed_policy_arns" not in call, "no account-wide ReadOnlyAccess: it reads every bucket's objects"
    assert call["inline_policy_json"] == "${data.aws_iam_policy_document.terraform_plan.json}"


def test_the_plan_role_only_reads(platform: Module) -> None:
    actions = [action for statement in statements(platform) for action in statement["actions"]]
    assert actions
    assert [a for a in actions if not READ_VERBS.match(a)] == []
    assert "*" not in " ".join(actions)


def test_the_plan_role_reads_no_data_and_no_secret(platform: Module) -> None:
    for statement in statements(platform):
        actions = set(statement["actions"])
        assert not actions & {"secretsmanager:GetSecretValue", "kms:Decrypt", "ssm:GetParameter"}, statement
        if "s3:GetObject" in actions:
            assert statement["resources"] == "${local.state_objects}", "objects: the state only"
    assert platform.locals["state_objects"].startswith("${var.terraform_state_bucket == null ? []")
    assert "/lighthouse/*" in platform.locals["state_objects"]


#: Calls AWS grants on no narrower resource than "*".
UNSCOPED = ("sts:GetCallerIdentity", "kms:ListAliases", "rds:Describe", "rds:List", "ec2:Describe")


def test_account_wide_resources_only_where_aws_has_no_resource_level_permission(platform: Module) -> None:
    for statement in statements(platform):
        if statement["resources"] == ["*"]:
            assert all(action.startswith(UNSCOPED) for action in statement["actions"]), statement


def test_the_workflow_passes_the_state_bucket_to_the_plan() -> None:
    workflow = (TERRAFORM_DIR.parent / ".github" / "workflows" / "infra.yml").read_text()
    assert workflow.count("TF_VAR_terraform_state_bucket: ${{ vars.TF_STATE_BUCKET }}") == 2  # plan and apply
