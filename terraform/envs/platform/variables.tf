variable "aws_region" {
  description = "AWS region of every resource."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region code such as eu-west-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "lighthouse"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "github_owner" {
  description = "Owner of the GitHub repository the roles trust (CI sets TF_VAR_github_owner from the run)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", var.github_owner))
    error_message = "github_owner must be a GitHub login (no wildcards)."
  }
}

variable "github_repository" {
  description = "Name of the GitHub repository the roles trust (CI sets TF_VAR_github_repository from the run)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be a repository name (no wildcards)."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false if the account already has one)."
  type        = bool
  default     = true
}

variable "create_image_repository" {
  description = "Create an ECR repository for model-server images."
  type        = bool
  default     = true
}

variable "create_terraform_roles" {
  description = "Create the plan and apply roles of the infra workflow."
  type        = bool
  default     = true
}

variable "terraform_state_bucket" {
  description = "Bucket of the terraform state (the same as TF_STATE_BUCKET): the plan role reads lighthouse/* in it."
  type        = string
  default     = null
}

variable "terraform_apply_policy_arns" {
  description = "Managed policies of the apply role (see the module's variable for why this is admin-equivalent)."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/AdministratorAccess"]
}

variable "data_version_retention_days" {
  description = "Days replaced versions of data and artifacts are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.data_version_retention_days >= 7
    error_message = "data_version_retention_days must be at least 7."
  }
}

variable "database" {
  description = "Optional MLflow PostgreSQL (see modules/aws-platform for every field)."
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
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}
