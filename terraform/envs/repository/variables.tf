variable "github_owner" {
  description = "User or organisation owning the repository."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", var.github_owner))
    error_message = "github_owner must be a GitHub login."
  }
}

variable "github_repository" {
  description = "Repository name."
  type        = string
}

variable "production_reviewer_users" {
  description = "GitHub logins who approve production deployments and infrastructure applies."
  type        = list(string)
  default     = []
}

variable "production_reviewer_teams" {
  description = "Team slugs who approve production deployments and infrastructure applies."
  type        = list(string)
  default     = []
}

variable "production_wait_timer_minutes" {
  description = "Minutes between approval and the start of a production deployment."
  type        = number
  default     = 0
}

variable "staging_reviewer_users" {
  description = "Optional approvers of staging deployments."
  type        = list(string)
  default     = []
}

variable "required_status_checks" {
  description = "Check-run names required before merging to main (a job's `name:`)."
  type        = list(string)
  default     = ["pr / checks"]
}

variable "required_approvals" {
  description = "Approving reviews required before merging to main."
  type        = number
  default     = 1
}

variable "require_code_owner_review" {
  description = "Require CODEOWNERS review."
  type        = bool
  default     = false
}

variable "promotion_app_id" {
  description = "GitHub App that pushes promotion commits (the ruleset's bypass actor); null without one (docs/gitops.md)."
  type        = number
  default     = null
}

variable "platform_state" {
  description = "Where the platform root keeps its state; its outputs become Actions variables. null skips it."
  type = object({
    bucket = string
    key    = optional(string, "lighthouse/platform.tfstate")
    region = string
  })
  default = null
}

variable "actions_variables" {
  description = "Extra repository variables (they override the platform's)."
  type        = map(string)
  default     = {}
}

variable "environment_variables" {
  description = "Extra variables per environment."
  type        = map(map(string))
  default     = {}
}
