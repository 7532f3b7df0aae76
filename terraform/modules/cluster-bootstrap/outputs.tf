output "prometheus_url" {
  description = "In-cluster URL of Prometheus, for Argo Rollouts AnalysisTemplates."
  value       = "http://${local.prometheus_fullname}-prometheus.${var.namespaces.monitoring}.svc:9090"
}

output "argocd_namespace" {
  description = "Namespace of Argo CD (and of its Applications)."
  value       = kubernetes_namespace_v1.argocd.metadata[0].name
}

output "applied_argocd_manifests" {
  description = "Manifest files applied through the applications release."
  value       = local.present_files
}

output "missing_argocd_manifests" {
  description = "Manifest files that were not found and so not applied."
  value       = local.missing_files
}

output "chart_versions" {
  description = "Pinned chart versions that were installed."
  value = {
    argo-cd               = helm_release.argo_cd.version
    argo-rollouts         = helm_release.argo_rollouts.version
    kube-prometheus-stack = helm_release.kube_prometheus_stack.version
  }
}
