output "kms_key_arn" {
  description = "Key that encrypts buckets, images and the database."
  value       = aws_kms_key.platform.arn
}

output "dvc_remote_bucket" {
  description = "Bucket of the DVC remote."
  value       = module.dvc_remote.id
}

output "dvc_remote_url" {
  description = "DVC remote URL (`dvc remote add -d storage <url>`)."
  value       = "s3://${module.dvc_remote.id}/dvc"
}

output "mlflow_artifacts_bucket" {
  description = "Bucket of MLflow artifacts."
  value       = module.mlflow_artifacts.id
}

output "mlflow_artifact_root" {
  description = "MLflow `--default-artifact-root` / `--artifacts-destination`."
  value       = "s3://${module.mlflow_artifacts.id}/mlflow"
}

output "access_log_bucket" {
  description = "Bucket receiving server access logs of the other buckets."
  value       = module.access_logs.id
}

output "image_repository_url" {
  description = "ECR repository of model-server images (null when not created)."
  value       = one(aws_ecr_repository.model[*].repository_url)
}

output "oidc_provider_arn" {
  description = "GitHub Actions OIDC provider of the account."
  value       = local.oidc_provider_arn
}

output "role_arns" {
  description = "ARN of each GitHub Actions role, by purpose (pr, main, production, terraform-plan, terraform-apply)."
  value       = { for key, role in local.roles : key => role.arn }
}

output "oidc_subjects" {
  description = "The `sub` claims each role trusts: check them against your repository and environments."
  value       = { for key, role in local.roles : key => role.subjects }
}

output "database_endpoint" {
  description = "host:port of the MLflow PostgreSQL (null without a database)."
  value       = one(aws_db_instance.mlflow[*].endpoint)
}

output "database_secret_arn" {
  description = "Secrets Manager secret holding the generated master credentials (null without a database)."
  value       = one(flatten([for db in aws_db_instance.mlflow : db.master_user_secret[*].secret_arn]))
}

# Repository-level GitHub Actions variables the workflows read (vars.NAME). Not secrets: ARNs and URLs only.
output "github_actions_variables" {
  description = "Repository variables for the workflows; feed them to the repository root (actions_variables)."
  value = merge(
    {
      AWS_PR_ROLE_ARN      = module.pr_role.arn
      AWS_MAIN_ROLE_ARN    = module.main_role.arn
      DVC_REMOTE_URL       = "s3://${module.dvc_remote.id}/dvc"
      MLFLOW_ARTIFACT_ROOT = "s3://${module.mlflow_artifacts.id}/mlflow"
    },
    var.create_image_repository ? { ECR_REPOSITORY_URL = aws_ecr_repository.model[0].repository_url } : {},
    var.create_terraform_roles ? { AWS_PLAN_ROLE_ARN = module.terraform_plan_role[0].arn } : {},
  )
}

# Environment-scoped variables: the production role ARN is visible only to jobs under the production environment.
output "github_environment_variables" {
  description = "Variables per GitHub environment; feed them to the repository root (environment_variables)."
  value = merge(
    { (var.production_environment) = { AWS_PRODUCTION_ROLE_ARN = module.production_role.arn } },
    var.create_terraform_roles ? { (var.infrastructure_environment) = { AWS_APPLY_ROLE_ARN = module.terraform_apply_role[0].arn } } : {},
  )
}
