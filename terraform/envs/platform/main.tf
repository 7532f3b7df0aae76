# The cloud side of the platform: buckets for DVC and MLflow, the image registry, GitHub OIDC roles and an
# optional MLflow database, in one AWS account.

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({
      project    = "mlops-lighthouse"
      repository = "${var.github_owner}/${var.github_repository}"
      managed-by = "terraform"
    }, var.tags)
  }
}

module "platform" {
  source = "../../modules/aws-platform"

  name_prefix                 = var.name_prefix
  github_owner                = var.github_owner
  github_repository           = var.github_repository
  create_oidc_provider        = var.create_oidc_provider
  create_image_repository     = var.create_image_repository
  create_terraform_roles      = var.create_terraform_roles
  terraform_apply_policy_arns = var.terraform_apply_policy_arns
  terraform_state_bucket      = var.terraform_state_bucket
  data_version_retention_days = var.data_version_retention_days
  database                    = var.database
}
