# Guard rails of the repository itself: what may land on the release branch, what the workflow token may do,
# and the OIDC subject format the cloud trust policies rely on.

resource "github_repository_ruleset" "release_branch" {
  name        = "protect-${var.release_branch}"
  repository  = var.github_repository
  target      = "branch"
  enforcement = "active"
  # No bypass_actors: nobody, admins included, merges around the review and the checks.

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
  environment_variables = merge({}, [
    for environment, vars in var.environment_variables : {
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
