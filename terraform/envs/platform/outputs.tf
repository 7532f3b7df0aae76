output "dvc_remote_url" {
  description = "DVC remote URL."
  value       = module.platform.dvc_remote_url
}

output "mlflow_artifact_root" {
  description = "MLflow artifact root."
  value       = module.platform.mlflow_artifact_root
}

output "image_repository_url" {
  description = "ECR repository of model-server images."
  value       = module.platform.image_repository_url
}

output "role_arns" {
  description = "GitHub Actions roles by purpose."
  value       = module.platform.role_arns
}

output "oidc_subjects" {
  description = "The exact `sub` claims each role trusts."
  value       = module.platform.oidc_subjects
}

output "database_endpoint" {
  description = "MLflow PostgreSQL endpoint (null without a database)."
  value       = module.platform.database_endpoint
}

output "database_secret_arn" {
  description = "Secret with the generated database credentials (null without a database)."
  value       = module.platform.database_secret_arn
}

output "github_actions_variables" {
  description = "Repository variables the workflows read; the repository root sets them from this state."
  value       = merge(module.platform.github_actions_variables, { AWS_REGION = var.aws_region })
}

output "github_environment_variables" {
  description = "Environment-scoped variables (production and infrastructure role ARNs)."
  value       = module.platform.github_environment_variables
}
