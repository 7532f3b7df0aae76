# Copy to terraform.tfvars and adjust, then: make terraform-apply ENV=cluster
kubeconfig_path = "~/.kube/config"
kube_context    = "my-cluster"
enable_grafana  = false
