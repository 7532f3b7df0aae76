# Guard rails of the repository itself: what may land on the release branch, what the workflow token may do,
# and the OIDC subject format the cloud trust policies rely on.

resource "github_repository_ruleset" "release_branch" {
  name        = "protect-${var.release_branch}"
  repository  = var.github_repository
  target      = "branch"
  enforcement = "active"
  # Nobody, admins included, merges around the review and the checks. The one exception is the promotion GitHub
  # App (when configured): it pushes the promotion commits (two files under k8s/overlays/<env>/) straight to the
  # release branch. An App is the narrowest actor GitHub lets a ruleset exempt: one installation, on this
  # repository, with contents: write only, its private key an environment secret of staging and production.
  dynamic "bypass_actors" {
    for_each = var.promotion_app_id == null ? [] : [var.promotion_app_id]
    content {
      actor_id    = bypass_actors.value
      actor_type  = "Integration"
      bypass_mode = "always"
    }
  }

  conditions {
    ref_name {
      include = ["refs/heads/${var.release_branch}"]
      exclude = []
    }
  }

  rules {
    deletion         = true
    non_fast_forward = true

    pull_request {
      required_approving_review_count   = var.required_approvals
      dismiss_stale_reviews_on_push     = true
      require_last_push_approval        = true
      require_code_owner_review         = var.require_code_owner_review
      required_review_thread_resolution = true
    }

    required_status_checks {
      strict_required_status_checks_policy = true

      dynamic "required_check" {
        for_each = toset(var.required_status_checks)
        content {
          context        = required_check.value
          integration_id = var.status_check_integration_id
        }
      }
    }
  }
}

# GITHUB_TOKEN is read-only unless a workflow job asks for more, and workflows cannot approve pull requests.
resource "github_workflow_repository_permissions" "this" {
  repository                       = var.github_repository
  default_workflow_permissions     = "read"
  can_approve_pull_request_reviews = false
}

# Keep GitHub's default `sub` claim (repo:<owner>/<repo>:...): the AWS trust policies match it exactly.
resource "github_actions_repository_oidc_subject_claim_customization_template" "this" {
  repository  = var.github_repository
  use_default = true
}

resource "github_actions_variable" "this" {
  for_each = var.actions_variables

  repository    = var.github_repository
  variable_name = each.key
  value         = each.value
}

locals {
  # The promotion jobs (staging, production environments) read the App ID; its private key is an environment
  # secret set by hand (PROMOTION_APP_PRIVATE_KEY), so it never lands in the terraform state.
  promotion_variables = var.promotion_app_id == null ? {} : {
    staging    = { PROMOTION_APP_ID = tostring(var.promotion_app_id) }
    production = { PROMOTION_APP_ID = tostring(var.promotion_app_id) }
  }
  variables_by_environment = {
    for environment in setunion(keys(local.promotion_variables), keys(var.environment_variables)) :
    environment => merge(lookup(local.promotion_variables, environment, {}), lookup(var.environment_variables, environment, {}))
  }
  environment_variables = merge({}, [
    for environment, vars in local.variables_by_environment : {
      for name, value in vars : "${environment}/${name}" => { environment = environment, name = name, value = value }
    }
  ]...)
  managed_environments = {
    staging                          = github_repository_environment.staging.environment
    production                       = github_repository_environment.production.environment
    (var.infrastructure_environment) = github_repository_environment.infrastructure.environment
  }
}

resource "github_actions_environment_variable" "this" {
  for_each = local.environment_variables

  repository    = var.github_repository
  environment   = local.managed_environments[each.value.environment]
  variable_name = each.value.name
  value         = each.value.value
}
