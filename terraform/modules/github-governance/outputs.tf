output "environments" {
  description = "Managed deployment environments."
  value       = [for env in [github_repository_environment.staging, github_repository_environment.production, github_repository_environment.infrastructure] : env.environment]
}

output "ruleset_id" {
  description = "ID of the release-branch ruleset."
  value       = github_repository_ruleset.release_branch.ruleset_id
}
