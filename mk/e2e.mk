# The cluster end-to-end run (.github/workflows/e2e-cluster.yml): a kind cluster with the add-ons terraform pins,
# staging synced by Argo CD from a copy of this repository at the commit under test, one good release promoted
# through the canary and verified, one with shifted predictions stopped by the prediction-psi analysis. Needs
# docker, kind (with its local registry, kind-registry:5000), kubectl and helm: GitHub's ubuntu runners have them;
# this repository's own tests cover the helpers (tests/ci/test_e2e_helpers.py), not the run itself.

E2E_DIR := build/e2e
E2E_REGISTRY ?= kind-registry:5000
E2E_IMAGE := $(E2E_REGISTRY)/mlops-lighthouse
E2E_GIT_PORT ?= 8418
E2E_NAMESPACE := lighthouse-staging
E2E_VERIFY_TIMEOUT ?= 1500
E2E_KUBECONFIG := $(E2E_DIR)/verifier.kubeconfig

.PHONY: e2e-addons
e2e-addons: setup ## Install kube-prometheus-stack, Argo Rollouts and Argo CD at the chart versions terraform pins
	@mkdir -p $(E2E_DIR)
	$(PY) -m ci.e2e.kind versions > $(E2E_DIR)/versions.env
	set -a; . $(E2E_DIR)/versions.env; set +a; \
	helm repo add argo "$$ARGO_HELM_REPOSITORY" && helm repo add prometheus-community "$$PROMETHEUS_COMMUNITY_REPOSITORY"; \
	helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack \
		--namespace monitoring --create-namespace --version "$$KUBE_PROMETHEUS_STACK_CHART_VERSION" \
		--values terraform/modules/cluster-bootstrap/values/kube-prometheus-stack.yaml \
		--set fullnameOverride=kube-prometheus-stack --set grafana.enabled=false --wait --timeout 15m; \
	helm upgrade --install argo-rollouts argo/argo-rollouts --namespace argo-rollouts --create-namespace \
		--version "$$ARGO_ROLLOUTS_CHART_VERSION" --values terraform/modules/cluster-bootstrap/values/argo-rollouts.yaml \
		--wait --timeout 10m; \
	helm upgrade --install argocd argo/argo-cd --namespace argocd --create-namespace \
		--version "$$ARGOCD_CHART_VERSION" --values terraform/modules/cluster-bootstrap/values/argo-cd.yaml \
		--wait --timeout 15m

# E2E_TAG names the release (baseline, good, shifted); its digest and release facts are kept under build/e2e.
.PHONY: e2e-image
e2e-image: ## Build the image from this checkout's models, push it to the kind registry, keep digest and facts
	@test -n "$(E2E_TAG)" || { echo "set E2E_TAG" >&2; exit 2; }
	@mkdir -p $(E2E_DIR)/facts-$(E2E_TAG)
	docker build --label "org.opencontainers.image.version=e2e-$(E2E_TAG)" -t $(E2E_IMAGE):$(E2E_TAG) .
	docker push $(E2E_IMAGE):$(E2E_TAG)
	docker inspect --format '{{index .RepoDigests 0}}' $(E2E_IMAGE):$(E2E_TAG) | cut -d@ -f2 > $(E2E_DIR)/$(E2E_TAG).digest
	cp reports/metrics.json reports/fairness.json reports/gates.json models/model.json $(E2E_DIR)/facts-$(E2E_TAG)/

.PHONY: e2e-shifted-model
e2e-shifted-model: setup ## Retrain a model whose predictions are shifted (gates waived: the canary must stop it)
	$(PY) -m ci.e2e.kind shift-params params.yaml
	$(VENV)/bin/dvc repro --single-item train
	$(VENV)/bin/dvc repro --single-item evaluate
	@mkdir -p $(E2E_DIR)
	$(PY) -m ci.e2e.kind waive-gates reports/gates.json $(E2E_DIR)/waived-gates.json
	cp $(E2E_DIR)/waived-gates.json reports/gates.json
	git checkout -- params.yaml

.PHONY: e2e-git
e2e-git: ## Serve a bare copy of HEAD over HTTP (ci.e2e.gitserver) and clone it: what Argo CD reads, where releases go
	@mkdir -p $(E2E_DIR)/git
	rm -rf $(E2E_DIR)/git/lighthouse.git $(E2E_DIR)/clone
	git init --quiet --bare --initial-branch=main $(E2E_DIR)/git/lighthouse.git
	git -C $(E2E_DIR)/git/lighthouse.git config http.receivepack true
	git push --quiet $(E2E_DIR)/git/lighthouse.git HEAD:refs/heads/main
	nohup $(PY) -m ci.e2e.gitserver $(E2E_DIR)/git --host 0.0.0.0 --port $(E2E_GIT_PORT) > $(E2E_DIR)/gitserver.log 2>&1 & echo $$! > $(E2E_DIR)/gitserver.pid
	for _ in $$(seq 30); do git ls-remote http://127.0.0.1:$(E2E_GIT_PORT)/lighthouse.git >/dev/null 2>&1 && break; sleep 1; done
	git clone --quiet http://127.0.0.1:$(E2E_GIT_PORT)/lighthouse.git $(E2E_DIR)/clone
	git -C $(E2E_DIR)/clone config user.name e2e && git -C $(E2E_DIR)/clone config user.email e2e@localhost

.PHONY: e2e-bootstrap
e2e-bootstrap: ## Point Argo CD at the served copy (staging only, promoted once), grant the verifier, wait for its sync
	gw=$$(docker network inspect kind | $(PY) -m ci.e2e.kind gateway); \
	$(PY) -m ci.e2e.kind argocd $(E2E_DIR)/argocd --repo-url "http://$$gw:$(E2E_GIT_PORT)/lighthouse.git" --revision main
	$(PY) -m ci.e2e.traffic instances $(E2E_DIR)/instances.json
	$(PY) -m ci.e2e.kind manifests $(E2E_DIR)/manifests --image "$(E2E_IMAGE)@$$(cat $(E2E_DIR)/baseline.digest)" \
		--instances $(E2E_DIR)/instances.json
	kubectl apply -f $(E2E_DIR)/manifests/volume.yaml
	kubectl apply -k $(E2E_DIR)/argocd
	for _ in $$(seq 60); do kubectl get namespace $(E2E_NAMESPACE) >/dev/null 2>&1 && break; sleep 5; done
	kubectl apply -k k8s/verifier
	kubectl -n $(E2E_NAMESPACE) wait rollout/model-server --for=jsonpath='{.status.phase}'=Healthy --timeout=15m
	kubectl create token lighthouse-verifier -n lighthouse-verify --duration 2h > $(E2E_DIR)/verifier.token
	kubectl config view --minify --raw -o json | $(PY) -c 'import json,sys; c=json.load(sys.stdin); \
		c["users"][0]["user"]={"token": open("$(E2E_DIR)/verifier.token").read().strip()}; print(json.dumps(c))' \
		> $(E2E_KUBECONFIG)

.PHONY: e2e-promote
e2e-promote: ## Promote E2E_TAG into staging of the served copy, then ask Argo CD to look now
	cd $(E2E_DIR)/clone && $(CURDIR)/$(PY) -m ci.promote --env staging --repository $(E2E_IMAGE) \
		--digest "$$(cat $(CURDIR)/$(E2E_DIR)/$(E2E_TAG).digest)" \
		--metrics $(CURDIR)/$(E2E_DIR)/facts-$(E2E_TAG)/metrics.json \
		--fairness $(CURDIR)/$(E2E_DIR)/facts-$(E2E_TAG)/fairness.json \
		--gates $(CURDIR)/$(E2E_DIR)/facts-$(E2E_TAG)/gates.json \
		--model-record $(CURDIR)/$(E2E_DIR)/facts-$(E2E_TAG)/model.json
	kubectl -n argocd annotate application lighthouse-staging argocd.argoproj.io/refresh=normal --overwrite \
		|| echo "no Application yet: its first sync reads this commit"

.PHONY: e2e-traffic
e2e-traffic: ## (Re)start the in-cluster traffic Job the canary analyses measure
	kubectl -n $(E2E_NAMESPACE) delete job e2e-traffic --ignore-not-found --wait
	kubectl apply -f $(E2E_DIR)/manifests/traffic.yaml

# E2E_EXPECT=verified: ci.verify must pass. E2E_EXPECT=aborted: it must fail and name the prediction-psi metric.
.PHONY: e2e-verify
e2e-verify: ## Run ci.verify on staging with the verifier's own token and check the outcome E2E_EXPECT
	set +e; KUBECONFIG=$(E2E_KUBECONFIG) $(PY) -m ci.verify staging --root $(E2E_DIR)/clone \
		--timeout $(E2E_VERIFY_TIMEOUT) > $(E2E_DIR)/verify-$(E2E_EXPECT).log 2>&1; code=$$?; set -e; \
	cat $(E2E_DIR)/verify-$(E2E_EXPECT).log; \
	case "$(E2E_EXPECT)" in \
		verified) test $$code = 0 ;; \
		aborted) test $$code = 1 && grep -q 'analysis prediction-psi: Failed' $(E2E_DIR)/verify-$(E2E_EXPECT).log ;; \
		*) echo "E2E_EXPECT must be verified or aborted" >&2; exit 2 ;; \
	esac

.PHONY: e2e-stop
e2e-stop: ## Stop the git server e2e-git started
	@test ! -f $(E2E_DIR)/gitserver.pid || { kill "$$(cat $(E2E_DIR)/gitserver.pid)" 2>/dev/null || true; rm -f $(E2E_DIR)/gitserver.pid; }
