variable "kubeconfig_path" {
  description = "kubeconfig of the target cluster."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "kubeconfig context to use: named explicitly so an apply never lands on whatever context is current."
  type        = string

  validation {
    condition     = trimspace(var.kube_context) != ""
    error_message = "kube_context must name the target cluster's context."
  }
}

variable "argocd_chart_version" {
  description = "Exact argo-cd chart version."
  type        = string
  default     = "8.5.6"
}

variable "argo_rollouts_chart_version" {
  description = "Exact argo-rollouts chart version."
  type        = string
  default     = "2.39.5"
}

variable "kube_prometheus_stack_chart_version" {
  description = "Exact kube-prometheus-stack chart version."
  type        = string
  default     = "77.11.1"
}

variable "enable_grafana" {
  description = "Install Grafana too (bring an admin secret)."
  type        = bool
  default     = false
}

variable "argocd_manifest_files" {
  description = "Argo CD manifests applied after Argo CD, relative to the repository root."
  type        = list(string)
  default = [
    "k8s/argocd/project.yaml",
    "k8s/argocd/application-staging.yaml",
    "k8s/argocd/application-production.yaml",
  ]
}
