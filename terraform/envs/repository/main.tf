# The repository's guard rails: protected environments, the release-branch ruleset, a read-only workflow
# token and the Actions variables the workflows read. Applied by a repository admin (GITHUB_TOKEN with admin
# rights on the repository), never by CI: a workflow able to apply this could rewrite its own approvers.

provider "github" {
  owner = var.github_owner
}

# The platform root's outputs (role ARNs, bucket URLs) become Actions variables without copy and paste.
data "terraform_remote_state" "platform" {
  count   = var.platform_state == null ? 0 : 1
  backend = "s3"

  config = {
    bucket = var.platform_state.bucket
    key    = var.platform_state.key
    region = var.platform_state.region
  }
}

locals {
  platform_outputs = try(data.terraform_remote_state.platform[0].outputs, {})
  # The infra workflow reads the state location from these two variables.
  state_variables = var.platform_state == null ? {} : {
    TF_STATE_BUCKET = var.platform_state.bucket
    TF_STATE_REGION = var.platform_state.region
  }
}

module "governance" {
  source = "../../modules/github-governance"

  github_repository             = var.github_repository
  production_reviewer_users     = var.production_reviewer_users
  production_reviewer_teams     = var.production_reviewer_teams
  production_wait_timer_minutes = var.production_wait_timer_minutes
  staging_reviewer_users        = var.staging_reviewer_users
  required_status_checks        = var.required_status_checks
  required_approvals            = var.required_approvals
  require_code_owner_review     = var.require_code_owner_review
  promotion_app_id              = var.promotion_app_id

  actions_variables     = merge(lookup(local.platform_outputs, "github_actions_variables", {}), local.state_variables, var.actions_variables)
  environment_variables = merge(lookup(local.platform_outputs, "github_environment_variables", {}), var.environment_variables)
}
