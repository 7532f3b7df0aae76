variable "argocd_chart_version" {
  description = "Exact version of the argo-cd chart (argo-helm)."
  type        = string
  default     = "8.5.6"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.argocd_chart_version))
    error_message = "argocd_chart_version must be an exact version such as 8.5.6, not a range."
  }
}

variable "argo_rollouts_chart_version" {
  description = "Exact version of the argo-rollouts chart (argo-helm)."
  type        = string
  default     = "2.39.5"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.argo_rollouts_chart_version))
    error_message = "argo_rollouts_chart_version must be an exact version such as 2.39.5, not a range."
  }
}

variable "kube_prometheus_stack_chart_version" {
  description = "Exact version of the kube-prometheus-stack chart (prometheus-community)."
  type        = string
  default     = "77.11.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.kube_prometheus_stack_chart_version))
    error_message = "kube_prometheus_stack_chart_version must be an exact version such as 77.11.1, not a range."
  }
}

variable "argo_helm_repository" {
  description = "Helm repository of the Argo charts (point it at a mirror if the cluster cannot reach GitHub Pages)."
  type        = string
  default     = "https://argoproj.github.io/argo-helm"
}

variable "prometheus_community_repository" {
  description = "Helm repository of kube-prometheus-stack."
  type        = string
  default     = "https://prometheus-community.github.io/helm-charts"
}

variable "namespaces" {
  description = "Namespaces of the add-ons."
  type = object({
    argocd        = optional(string, "argocd")
    argo_rollouts = optional(string, "argo-rollouts")
    monitoring    = optional(string, "monitoring")
  })
  default = {}

  validation {
    condition     = alltrue([for ns in values(var.namespaces) : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", ns))])
    error_message = "namespaces must be DNS-1123 labels."
  }
}

variable "repository_root" {
  description = "Directory the manifest paths are relative to (default: the repository holding this module)."
  type        = string
  default     = null
}

variable "argocd_manifest_files" {
  description = "Argo CD AppProject/Application manifests applied after Argo CD, relative to repository_root. Missing files are skipped with a warning, so the platform can be bootstrapped before the apps exist."
  type        = list(string)
  default = [
    "k8s/argocd/project.yaml",
    "k8s/argocd/application-staging.yaml",
    "k8s/argocd/application-production.yaml",
  ]

  validation {
    condition     = alltrue([for f in var.argocd_manifest_files : endswith(f, ".yaml") || endswith(f, ".yml")])
    error_message = "argocd_manifest_files must be YAML files."
  }
}

variable "enable_grafana" {
  description = "Install Grafana with the Prometheus stack. Off by default: it needs an admin secret you provide (grafana.admin.existingSecret in prometheus_values)."
  type        = bool
  default     = false
}

variable "prometheus_retention" {
  description = "How long Prometheus keeps samples (canary analyses only need hours; dashboards want days)."
  type        = string
  default     = "15d"

  validation {
    condition     = can(regex("^[0-9]+(h|d|w)$", var.prometheus_retention))
    error_message = "prometheus_retention must look like 12h, 15d or 2w."
  }
}

variable "argocd_values" {
  description = "Extra YAML values documents for the argo-cd chart, applied after the module's own."
  type        = list(string)
  default     = []
}

variable "argo_rollouts_values" {
  description = "Extra YAML values documents for the argo-rollouts chart."
  type        = list(string)
  default     = []
}

variable "prometheus_values" {
  description = "Extra YAML values documents for the kube-prometheus-stack chart."
  type        = list(string)
  default     = []
}
