# GitHub Actions reaches AWS through OIDC only: no static keys. Each role trusts exact `sub` claims of THIS
# repository, so forks, other repositories and other branches cannot assume it. Fork pull requests get no OIDC
# token at all; pull requests from branches of this repository get the `pull_request` subject.

locals {
  oidc_host = "token.actions.githubusercontent.com"
  # Built from the account id rather than the resource, so it is also right when the provider already exists.
  oidc_provider_arn = "arn:${local.partition}:iam::${local.account_id}:oidc-provider/token.actions.githubusercontent.com"
  repository        = "${var.github_owner}/${var.github_repository}"

  # The subjects GitHub puts in the token. A job with an `environment:` gets the environment subject, not the ref.
  oidc_subjects = {
    pull_request   = "repo:${local.repository}:pull_request"
    main_branch    = "repo:${local.repository}:ref:refs/heads/${var.main_branch}"
    staging        = "repo:${local.repository}:environment:${var.staging_environment}"
    production     = "repo:${local.repository}:environment:${var.production_environment}"
    infrastructure = "repo:${local.repository}:environment:${var.infrastructure_environment}"
  }
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # No thumbprint_list: AWS validates GitHub's certificate against its trusted CAs.
  tags = var.tags
}

# Pull requests only read: data to train on, artifacts and images to compare with.
module "pr_role" {
  source = "../github-oidc-role"

  name               = "${var.name_prefix}-github-pr"
  description        = "Read-only access for pull-request workflows of ${local.repository}"
  oidc_provider_arn  = local.oidc_provider_arn
  subjects           = [local.oidc_subjects.pull_request]
  inline_policy_json = data.aws_iam_policy_document.pr.json
  tags               = var.tags

  depends_on = [aws_iam_openid_connect_provider.github]
}

# Pushes to main, and jobs under the staging environment (which admits only main), write artifacts and images.
module "main_role" {
  source = "../github-oidc-role"

  name               = "${var.name_prefix}-github-main"
  description        = "Writes DVC data, MLflow artifacts and images for ${local.repository} main"
  oidc_provider_arn  = local.oidc_provider_arn
  subjects           = [local.oidc_subjects.main_branch, local.oidc_subjects.staging]
  inline_policy_json = data.aws_iam_policy_document.main.json
  tags               = var.tags

  depends_on = [aws_iam_openid_connect_provider.github]
}

# Only a job running under the protected production environment (reviewers, main only) gets this role.
module "production_role" {
  source = "../github-oidc-role"

  name               = "${var.name_prefix}-github-production"
  description        = "Production promotion of ${local.repository}, only under the protected environment"
  oidc_provider_arn  = local.oidc_provider_arn
  subjects           = [local.oidc_subjects.production]
  inline_policy_json = data.aws_iam_policy_document.production.json
  tags               = var.tags

  depends_on = [aws_iam_openid_connect_provider.github]
}

# The infra workflow's plan runs the code of a same-repository pull request, so its role may read only what a plan
# of this configuration refreshes (permissions.tf: terraform_plan): resource settings of the platform's own
# buckets, key, registry, roles and database, and the state object. No object data, no secret values, no writes;
# it runs with -lock=false. Only pull requests use it: main applies with the apply role.
module "terraform_plan_role" {
  source = "../github-oidc-role"
  count  = var.create_terraform_roles ? 1 : 0

  name               = "${var.name_prefix}-github-terraform-plan"
  description        = "Read-only terraform plan for ${local.repository}"
  oidc_provider_arn  = local.oidc_provider_arn
  subjects           = [local.oidc_subjects.pull_request]
  inline_policy_json = data.aws_iam_policy_document.terraform_plan.json
  tags               = var.tags

  depends_on = [aws_iam_openid_connect_provider.github]
}

module "terraform_apply_role" {
  source = "../github-oidc-role"
  count  = var.create_terraform_roles ? 1 : 0

  name                = "${var.name_prefix}-github-terraform-apply"
  description         = "terraform apply for ${local.repository}, only under the protected infrastructure environment"
  oidc_provider_arn   = local.oidc_provider_arn
  subjects            = [local.oidc_subjects.infrastructure]
  managed_policy_arns = { for arn in var.terraform_apply_policy_arns : reverse(split("/", arn))[0] => arn }
  tags                = var.tags

  depends_on = [aws_iam_openid_connect_provider.github]
}

locals {
  roles = merge(
    { pr = module.pr_role, main = module.main_role, production = module.production_role },
    var.create_terraform_roles ? { terraform-plan = module.terraform_plan_role[0], terraform-apply = module.terraform_apply_role[0] } : {},
  )
}
