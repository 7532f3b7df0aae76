# Deployment environments: how a promotion is approved. Every environment deploys from the release branch only;
# production and infrastructure also need a reviewer other than the person who started the run, and repository
# admins cannot skip that.

data "github_user" "production_reviewer" {
  for_each = toset(var.production_reviewer_users)
  username = each.value
}

data "github_team" "production_reviewer" {
  for_each = toset(var.production_reviewer_teams)
  slug     = each.value
}

data "github_user" "staging_reviewer" {
  for_each = toset(var.staging_reviewer_users)
  username = each.value
}

locals {
  production_reviewer_user_ids = [for user in data.github_user.production_reviewer : user.id]
  production_reviewer_team_ids = [for team in data.github_team.production_reviewer : team.id]
  staging_reviewer_user_ids    = [for user in data.github_user.staging_reviewer : user.id]
}

resource "github_repository_environment" "staging" {
  repository          = var.github_repository
  environment         = "staging"
  can_admins_bypass   = false
  prevent_self_review = length(var.staging_reviewer_users) > 0

  dynamic "reviewers" {
    for_each = length(var.staging_reviewer_users) > 0 ? [1] : []
    content {
      users = local.staging_reviewer_user_ids
    }
  }

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

resource "github_repository_environment" "production" {
  repository          = var.github_repository
  environment         = "production"
  wait_timer          = var.production_wait_timer_minutes
  can_admins_bypass   = false
  prevent_self_review = true

  reviewers {
    users = local.production_reviewer_user_ids
    teams = local.production_reviewer_team_ids
  }

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

# `terraform apply` of the platform: it can change IAM, so it is guarded like production.
resource "github_repository_environment" "infrastructure" {
  repository          = var.github_repository
  environment         = var.infrastructure_environment
  can_admins_bypass   = false
  prevent_self_review = true

  reviewers {
    users = local.production_reviewer_user_ids
    teams = local.production_reviewer_team_ids
  }

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

# What `verify` and `consistency` read with (.github/workflows/verify.yml): the read-only cluster credentials
# (`KUBECONFIG_VERIFIER`, or `VERIFY_AWS_ROLE_ARN` + `EKS_CLUSTER_NAME`) and the MLflow token that moves the
# `staging`/`champion` aliases. Jobs use it with `deployment: false`, so it needs no reviewer: nothing here deploys,
# and keeping its secrets out of `staging`/`production` means the promotion jobs never hold cluster credentials.
resource "github_repository_environment" "verification" {
  repository        = var.github_repository
  environment       = "verification"
  can_admins_bypass = false

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

resource "github_repository_environment_deployment_policy" "staging" {
  repository     = var.github_repository
  environment    = github_repository_environment.staging.environment
  branch_pattern = var.release_branch
}

resource "github_repository_environment_deployment_policy" "production" {
  repository     = var.github_repository
  environment    = github_repository_environment.production.environment
  branch_pattern = var.release_branch
}

resource "github_repository_environment_deployment_policy" "infrastructure" {
  repository     = var.github_repository
  environment    = github_repository_environment.infrastructure.environment
  branch_pattern = var.release_branch
}

resource "github_repository_environment_deployment_policy" "verification" {
  repository     = var.github_repository
  environment    = github_repository_environment.verification.environment
  branch_pattern = var.release_branch
}
