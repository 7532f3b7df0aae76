variable "name" {
  description = "Role name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be a valid IAM role name (at most 64 characters)."
  }
}

variable "description" {
  description = "What the role is for."
  type        = string
}

variable "oidc_provider_arn" {
  description = "ARN of the account's token.actions.githubusercontent.com OIDC provider."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be the ARN of the GitHub Actions OIDC provider."
  }
}

variable "subjects" {
  description = "Exact `sub` claims allowed to assume the role: repo:<owner>/<repo>:pull_request, :ref:refs/heads/<branch> or :environment:<name>."
  type        = list(string)

  validation {
    condition     = length(var.subjects) > 0
    error_message = "subjects must not be empty."
  }

  # Wildcards would admit forks' look-alikes, other repositories or other branches: only exact claims pass.
  validation {
    condition = alltrue([
      for sub in var.subjects : can(regex("^repo:[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}:(pull_request|ref:refs/heads/[A-Za-z0-9._/-]+|environment:[A-Za-z0-9._-]+)$", sub))
    ])
    error_message = "Every subject must be an exact repo:<owner>/<repo>:pull_request, :ref:refs/heads/<branch> or :environment:<name> claim, without wildcards."
  }
}

variable "inline_policy_json" {
  description = "Inline permissions policy (null for none)."
  type        = string
  default     = null
}

variable "managed_policy_arns" {
  description = "Managed policies to attach, keyed by a static name (keys must be known at plan time)."
  type        = map(string)
  default     = {}
}

variable "max_session_hours" {
  description = "Longest session a workflow can get."
  type        = number
  default     = 1

  validation {
    condition     = var.max_session_hours >= 1 && var.max_session_hours <= 12
    error_message = "max_session_hours must be between 1 and 12."
  }
}

variable "tags" {
  description = "Tags of the role."
  type        = map(string)
  default     = {}
}
