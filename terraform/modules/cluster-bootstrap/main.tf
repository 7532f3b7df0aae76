# Cluster add-ons at pinned chart versions, then the Argo CD project and applications from k8s/argocd.
# After this bootstrap, Argo CD owns everything else in the cluster: changes go through git, not terraform.

locals {
  repository_root = coalesce(var.repository_root, abspath("${path.root}/../../.."))

  manifest_paths   = { for f in var.argocd_manifest_files : f => "${local.repository_root}/${f}" }
  present_files    = [for f, path in local.manifest_paths : f if fileexists(path)]
  missing_files    = [for f, path in local.manifest_paths : f if !fileexists(path)]
  argocd_manifests = [for f in local.present_files : yamldecode(file(local.manifest_paths[f]))]

  prometheus_fullname = "kube-prometheus-stack"
}

# A missing manifest is a warning, not an error: the add-ons can be installed before the apps are written.
check "argocd_manifests_present" {
  assert {
    condition     = length(local.missing_files) == 0
    error_message = "Argo CD manifests not found, not applied: ${join(", ", local.missing_files)}"
  }
}

resource "kubernetes_namespace_v1" "argocd" {
  metadata {
    name = var.namespaces.argocd
    labels = {
      "pod-security.kubernetes.io/enforce" = "baseline"
      "pod-security.kubernetes.io/warn"    = "restricted"
    }
  }
}

resource "kubernetes_namespace_v1" "argo_rollouts" {
  metadata {
    name = var.namespaces.argo_rollouts
    labels = {
      "pod-security.kubernetes.io/enforce" = "baseline"
      "pod-security.kubernetes.io/warn"    = "restricted"
    }
  }
}

resource "kubernetes_namespace_v1" "monitoring" {
  metadata {
    name = var.namespaces.monitoring
    labels = {
      # node-exporter reads host metrics through hostPath/hostNetwork, which only the privileged level admits.
      "pod-security.kubernetes.io/enforce" = "privileged"
      "pod-security.kubernetes.io/warn"    = "baseline"
    }
  }
}

resource "helm_release" "kube_prometheus_stack" {
  name       = "kube-prometheus-stack"
  repository = var.prometheus_community_repository
  chart      = "kube-prometheus-stack"
  version    = var.kube_prometheus_stack_chart_version
  namespace  = kubernetes_namespace_v1.monitoring.metadata[0].name
  atomic     = true
  timeout    = 900

  values = concat([
    file("${path.module}/values/kube-prometheus-stack.yaml"),
    yamlencode({
      fullnameOverride = local.prometheus_fullname
      grafana          = { enabled = var.enable_grafana }
      prometheus       = { prometheusSpec = { retention = var.prometheus_retention } }
    }),
  ], var.prometheus_values)
}

resource "helm_release" "argo_rollouts" {
  name       = "argo-rollouts"
  repository = var.argo_helm_repository
  chart      = "argo-rollouts"
  version    = var.argo_rollouts_chart_version
  namespace  = kubernetes_namespace_v1.argo_rollouts.metadata[0].name
  atomic     = true
  timeout    = 600

  values = concat([file("${path.module}/values/argo-rollouts.yaml")], var.argo_rollouts_values)

  # Its ServiceMonitor needs the Prometheus Operator CRDs.
  depends_on = [helm_release.kube_prometheus_stack]
}

resource "helm_release" "argo_cd" {
  name       = "argocd"
  repository = var.argo_helm_repository
  chart      = "argo-cd"
  version    = var.argocd_chart_version
  namespace  = kubernetes_namespace_v1.argocd.metadata[0].name
  atomic     = true
  timeout    = 900

  values = concat([file("${path.module}/values/argo-cd.yaml")], var.argocd_values)

  # Applications sync Rollouts and ServiceMonitors: their CRDs must exist before the first sync.
  depends_on = [helm_release.argo_rollouts, helm_release.kube_prometheus_stack]
}

# The AppProject and Applications go through a local pass-through chart rather than kubernetes_manifest:
# kubernetes_manifest needs the Application CRD at plan time, which does not exist before Argo CD is installed.
resource "helm_release" "argocd_applications" {
  count = length(local.argocd_manifests) > 0 ? 1 : 0

  name      = "lighthouse-argocd-apps"
  chart     = "${path.module}/charts/manifests"
  namespace = kubernetes_namespace_v1.argocd.metadata[0].name
  atomic    = true

  values = [yamlencode({ manifests = local.argocd_manifests })]

  depends_on = [helm_release.argo_cd]
}
