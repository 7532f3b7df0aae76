# Kubernetes manifests: render every overlay and prove it before it reaches a cluster (docs/kubernetes.md).

K8S_RENDER_DIR := build/k8s
K8S_SOURCES := $(sort $(wildcard k8s/overlays/*)) k8s/argocd k8s/verifier

.PHONY: k8s-render
k8s-render: ## Render each overlay and k8s/argocd with kubectl kustomize into build/k8s/
	@mkdir -p $(K8S_RENDER_DIR)
	@for dir in $(K8S_SOURCES); do \
		out=$(K8S_RENDER_DIR)/$$(basename $$dir).yaml; \
		kubectl kustomize $$dir > $$out.tmp && mv $$out.tmp $$out && echo "rendered $$dir -> $$out"; \
	done

.PHONY: k8s-check
k8s-check: setup checkov-env k8s-render ## Render the overlays, then schemas, checkov, invariants, PromQL (tests/k8s)
	$(PY) -m pytest tests/k8s $(PYTEST_ARGS)
