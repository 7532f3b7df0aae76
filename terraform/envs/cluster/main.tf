# Bootstraps one cluster (it hosts the staging and production namespaces): Argo CD, Argo Rollouts, the
# Prometheus stack and the Argo CD applications. Run once per cluster by an operator with cluster-admin.

provider "kubernetes" {
  config_path    = pathexpand(var.kubeconfig_path)
  config_context = var.kube_context
}

provider "helm" {
  kubernetes = {
    config_path    = pathexpand(var.kubeconfig_path)
    config_context = var.kube_context
  }
}

module "cluster" {
  source = "../../modules/cluster-bootstrap"

  argocd_chart_version                = var.argocd_chart_version
  argo_rollouts_chart_version         = var.argo_rollouts_chart_version
  kube_prometheus_stack_chart_version = var.kube_prometheus_stack_chart_version
  enable_grafana                      = var.enable_grafana
  argocd_manifest_files               = var.argocd_manifest_files
}
