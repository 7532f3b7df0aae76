output "prometheus_url" {
  description = "In-cluster Prometheus URL for canary analyses."
  value       = module.cluster.prometheus_url
}

output "applied_argocd_manifests" {
  description = "Argo CD manifests applied."
  value       = module.cluster.applied_argocd_manifests
}

output "missing_argocd_manifests" {
  description = "Argo CD manifests not found (not applied)."
  value       = module.cluster.missing_argocd_manifests
}

output "chart_versions" {
  description = "Installed chart versions."
  value       = module.cluster.chart_versions
}
