variable "name" {
  description = "Globally unique bucket name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !strcontains(var.name, "..")
    error_message = "name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for default encryption. null means SSE-S3, which only an access-log bucket may use (S3 server access logging cannot write to SSE-KMS buckets)."
  type        = string
  default     = null
}

variable "access_log_bucket" {
  description = "Bucket that receives this bucket's server access logs (null only for the log bucket itself)."
  type        = string
  default     = null
}

variable "accept_access_logs_from" {
  description = "ARNs of buckets whose server access logs this bucket receives; non-empty makes it a log bucket."
  type        = list(string)
  default     = []
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept before it expires (the undo window)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 7 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of at least 7: shorter leaves no time to notice a bad overwrite."
  }
}

variable "infrequent_access_after_days" {
  description = "Days after which current objects move to STANDARD_IA (null keeps them in STANDARD)."
  type        = number
  default     = null

  validation {
    condition     = var.infrequent_access_after_days == null ? true : var.infrequent_access_after_days >= 30
    error_message = "infrequent_access_after_days must be null or at least 30 (the S3 minimum for STANDARD_IA)."
  }
}

variable "current_version_expiration_days" {
  description = "Days after which current objects expire (null keeps them; set it for logs)."
  type        = number
  default     = null

  validation {
    condition     = var.current_version_expiration_days == null ? true : var.current_version_expiration_days >= 1
    error_message = "current_version_expiration_days must be null or a positive number of days."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete a bucket that still holds objects. Keep false outside throwaway accounts."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the bucket."
  type        = map(string)
  default     = {}
}
