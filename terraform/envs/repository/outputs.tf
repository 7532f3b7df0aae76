output "environments" {
  description = "Managed deployment environments."
  value       = module.governance.environments
}

output "ruleset_id" {
  description = "ID of the main-branch ruleset."
  value       = module.governance.ruleset_id
}
