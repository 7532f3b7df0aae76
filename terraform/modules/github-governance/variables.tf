variable "github_repository" {
  description = "Repository name (the provider's `owner` selects the user or organisation)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_repository)) && !contains([".", ".."], var.github_repository)
    error_message = "github_repository must be a repository name: letters, digits, '.', '_' or '-'."
  }
}

variable "release_branch" {
  description = "The only branch that may deploy to staging, production and infrastructure, and the one the ruleset protects."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.release_branch))
    error_message = "release_branch must be one plain branch name: a pattern would let other branches deploy."
  }
}

variable "production_reviewer_users" {
  description = "GitHub logins who may approve production deployments (with the teams: 1 to 6 reviewers, GitHub's limit)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.production_reviewer_users) + length(var.production_reviewer_teams) >= 1
    error_message = "Production needs at least one reviewer: set production_reviewer_users or production_reviewer_teams."
  }

  validation {
    condition     = length(var.production_reviewer_users) + length(var.production_reviewer_teams) <= 6
    error_message = "GitHub allows at most 6 reviewers (users plus teams) per environment."
  }

  validation {
    condition     = alltrue([for login in var.production_reviewer_users : can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", login))])
    error_message = "production_reviewer_users must be GitHub logins."
  }
}

variable "production_reviewer_teams" {
  description = "Slugs of organisation teams who may approve production deployments."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for slug in var.production_reviewer_teams : can(regex("^[a-z0-9][a-z0-9._-]*$", slug))])
    error_message = "production_reviewer_teams must be team slugs (lowercase, as in the team's URL)."
  }
}

variable "production_wait_timer_minutes" {
  description = "Minutes a production deployment waits after approval before it starts (0 = none): time to cancel."
  type        = number
  default     = 0

  validation {
    condition     = var.production_wait_timer_minutes >= 0 && var.production_wait_timer_minutes <= 43200 && floor(var.production_wait_timer_minutes) == var.production_wait_timer_minutes
    error_message = "production_wait_timer_minutes must be a whole number between 0 and 43200 (30 days)."
  }
}

variable "staging_reviewer_users" {
  description = "Optional reviewers for staging deployments (empty: staging deploys from main without approval)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.staging_reviewer_users) <= 6
    error_message = "GitHub allows at most 6 reviewers per environment."
  }
}

variable "infrastructure_environment" {
  description = "Environment the infra workflow's `terraform apply` runs under; it gets production's reviewers."
  type        = string
  default     = "infrastructure"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.infrastructure_environment)) && !contains(["staging", "production"], var.infrastructure_environment)
    error_message = "infrastructure_environment must be a plain name other than staging and production."
  }
}

variable "required_status_checks" {
  description = "Check-run names that must pass before a merge to the release branch. A job's check-run name is its `name:` (or its id without one), not `workflow / job`."
  type        = list(string)
  default     = ["pr / checks"]

  validation {
    condition     = length(var.required_status_checks) >= 1 && alltrue([for check in var.required_status_checks : trimspace(check) != ""])
    error_message = "required_status_checks must name at least one check: the PR gates are the point."
  }
}

variable "promotion_app_id" {
  description = "ID of the GitHub App whose installation token pushes promotion commits (the ruleset's only bypass actor). null: no App; the workflows then push with GITHUB_TOKEN, which a ruleset requiring pull requests rejects."
  type        = number
  default     = null

  validation {
    condition     = var.promotion_app_id == null ? true : var.promotion_app_id > 0 && floor(var.promotion_app_id) == var.promotion_app_id
    error_message = "promotion_app_id must be a GitHub App ID (a positive whole number) or null."
  }
}

variable "status_check_integration_id" {
  description = "GitHub App that must report the required checks (15368 = GitHub Actions), so no other app or token can fake them. null accepts any source."
  type        = number
  default     = 15368
}

variable "required_approvals" {
  description = "Approving reviews a pull request needs before it can merge into the release branch."
  type        = number
  default     = 1

  validation {
    condition     = var.required_approvals >= 1 && var.required_approvals <= 6 && floor(var.required_approvals) == var.required_approvals
    error_message = "required_approvals must be a whole number from 1 to 6: every change to main is reviewed."
  }
}

variable "require_code_owner_review" {
  description = "Also require a review from the CODEOWNERS of changed files."
  type        = bool
  default     = false
}

variable "actions_variables" {
  description = "Repository-level GitHub Actions variables (vars.NAME), e.g. the platform root's github_actions_variables output."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.actions_variables) : can(regex("^[A-Z][A-Z0-9_]*$", name)) && !startswith(name, "GITHUB_")])
    error_message = "actions_variables names must be UPPER_SNAKE_CASE and must not start with GITHUB_."
  }
}

variable "environment_variables" {
  description = "Variables per managed environment (staging, production, infrastructure), e.g. the platform root's github_environment_variables output."
  type        = map(map(string))
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.environment_variables) : contains(["staging", "production", var.infrastructure_environment], name)])
    error_message = "environment_variables keys must be environments this module manages: staging, production or the infrastructure environment."
  }

  validation {
    condition     = alltrue(flatten([for vars in values(var.environment_variables) : [for name in keys(vars) : can(regex("^[A-Z][A-Z0-9_]*$", name)) && !startswith(name, "GITHUB_")]]))
    error_message = "environment variable names must be UPPER_SNAKE_CASE and must not start with GITHUB_."
  }
}
