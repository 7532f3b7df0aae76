variable "name_prefix" {
  description = "Prefix of every resource name (buckets get the account id appended to be globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "github_owner" {
  description = "GitHub user or organisation that owns the repository (the `owner` of owner/repo). Trust policies pin it exactly."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", var.github_owner))
    error_message = "github_owner must be a GitHub login: letters, digits and hyphens only (no wildcards)."
  }
}

variable "github_repository" {
  description = "Repository name (the `repo` of owner/repo). Trust policies pin it exactly."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_repository)) && !contains([".", ".."], var.github_repository)
    error_message = "github_repository must be a repository name: letters, digits, '.', '_' or '-' (no wildcards)."
  }
}

variable "main_branch" {
  description = "Branch whose pushes may use the main role."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.main_branch))
    error_message = "main_branch must be a plain branch name (no wildcards)."
  }
}

variable "staging_environment" {
  description = "GitHub environment of staging jobs; they may use the main role (the environment admits only the main branch)."
  type        = string
  default     = "staging"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.staging_environment))
    error_message = "staging_environment must be a plain environment name (no wildcards)."
  }
}

variable "production_environment" {
  description = "GitHub environment whose jobs (and only those) may use the production role."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.production_environment))
    error_message = "production_environment must be a plain environment name (no wildcards)."
  }
}

variable "infrastructure_environment" {
  description = "GitHub environment whose jobs (and only those) may use the terraform apply role."
  type        = string
  default     = "infrastructure"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.infrastructure_environment))
    error_message = "infrastructure_environment must be a plain environment name (no wildcards)."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider. Set false when the account already has one (there can be only one per URL)."
  type        = bool
  default     = true
}

variable "data_version_retention_days" {
  description = "Days replaced versions of DVC data and MLflow artifacts are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.data_version_retention_days >= 7
    error_message = "data_version_retention_days must be at least 7."
  }
}

variable "artifact_infrequent_access_days" {
  description = "Days after which MLflow artifacts and DVC objects move to STANDARD_IA (null keeps them in STANDARD)."
  type        = number
  default     = 90

  validation {
    condition     = var.artifact_infrequent_access_days == null ? true : var.artifact_infrequent_access_days >= 30
    error_message = "artifact_infrequent_access_days must be null or at least 30."
  }
}

variable "access_log_retention_days" {
  description = "Days S3 server access logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 30
    error_message = "access_log_retention_days must be at least 30: audits need the trail."
  }
}

variable "create_image_repository" {
  description = "Create an ECR repository the main role pushes model-server images to."
  type        = bool
  default     = true
}

variable "create_terraform_roles" {
  description = "Create the roles the infra workflow uses: a read-only plan role and an apply role bound to the infrastructure environment."
  type        = bool
  default     = true
}

variable "terraform_state_bucket" {
  description = "Bucket holding the terraform state (key lighthouse/*): the plan role may read those objects and nothing else in it. null: no state access (plan then fails at init)."
  type        = string
  default     = null

  validation {
    condition     = var.terraform_state_bucket == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.terraform_state_bucket))
    error_message = "terraform_state_bucket must be an S3 bucket name."
  }
}

variable "terraform_apply_policy_arns" {
  description = "Managed policies of the terraform apply role. It manages IAM roles, so any policy that lets it apply this module is admin-equivalent: its guard is the trust policy (infrastructure environment, main only, reviewers)."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/AdministratorAccess"]

  validation {
    condition     = alltrue([for arn in var.terraform_apply_policy_arns : can(regex("^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "terraform_apply_policy_arns must hold IAM policy ARNs."
  }
}

variable "database" {
  description = "Optional managed PostgreSQL for the MLflow backend store. Off by default: MLflow runs on SQLite/file stores without it."
  type = object({
    enabled                    = bool
    vpc_id                     = optional(string)
    subnet_ids                 = optional(list(string), [])
    allowed_security_group_ids = optional(list(string), [])
    allowed_cidr_blocks        = optional(list(string), [])
    instance_class             = optional(string, "db.t4g.micro")
    engine_version             = optional(string, "16")
    allocated_storage_gb       = optional(number, 20)
    max_allocated_storage_gb   = optional(number, 100)
    multi_az                   = optional(bool, false)
    backup_retention_days      = optional(number, 7)
    deletion_protection        = optional(bool, true)
    performance_insights       = optional(bool, true) # some small burstable classes do not support it
  })
  default = { enabled = false }

  validation {
    condition     = !var.database.enabled || (var.database.vpc_id != null && length(var.database.subnet_ids) >= 2)
    error_message = "database.enabled needs database.vpc_id and at least two database.subnet_ids (in two availability zones)."
  }

  validation {
    condition     = !var.database.enabled || length(var.database.allowed_security_group_ids) + length(var.database.allowed_cidr_blocks) > 0
    error_message = "database.enabled needs allowed_security_group_ids or allowed_cidr_blocks: who may reach port 5432?"
  }

  validation {
    condition     = alltrue([for cidr in var.database.allowed_cidr_blocks : can(cidrhost(cidr, 0)) && !contains(["0.0.0.0/0", "::/0"], cidr)])
    error_message = "database.allowed_cidr_blocks must be valid private CIDR blocks, never the whole internet."
  }

  validation {
    condition     = var.database.backup_retention_days >= 1 && var.database.backup_retention_days <= 35
    error_message = "database.backup_retention_days must be between 1 and 35."
  }
}

variable "tags" {
  description = "Tags added to every resource (the root's provider default_tags add more)."
  type        = map(string)
  default     = {}
}
