# An IAM role that GitHub Actions assumes through OIDC. The trust policy matches the audience and the exact
# `sub` claims with StringEquals, never StringLike: no wildcard can admit a fork, another repository or branch.

data "aws_iam_policy_document" "trust" {
  # checkov:skip=CKV_AWS_358:checkov 3.3 cannot read a list passed through a module variable and reports FAILED even for an exact literal subject; the validation of var.subjects (variables.tf) and tests/terraform/test_trust_policies.py enforce exact, wildcard-free subjects instead.
  statement {
    sid     = "GitHubActionsOidc"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = var.subjects
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = var.description
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_hours * 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "this" {
  count = var.inline_policy_json == null ? 0 : 1

  name   = var.name
  role   = aws_iam_role.this.id
  policy = var.inline_policy_json
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = var.managed_policy_arns

  role       = aws_iam_role.this.name
  policy_arn = each.value
}
