# Release verification and the consistency check: the commands behind .github/workflows/{verify,consistency}.yml
# (docs/gitops.md). Each needs cluster read access (k8s/verifier) and, to move aliases, MLFLOW_TRACKING_URI.

# VERIFY_ENV (staging), VERIFY_COMMIT and VERIFY_TIMEOUT are read by the shell, quoted: workflow inputs never
# become make or shell syntax.

.PHONY: setup-verify
setup-verify: $(UV) ## Light environment for verification jobs: the project and the verify group (adds, never removes)
	$(UV) sync --frozen --quiet --inexact --no-default-groups --group verify

# Prints `configured=true|false` (a step output). The kubeconfig comes from $KUBECONFIG_CONTENT (a secret holding the
# verifier ServiceAccount's kubeconfig) or, with $EKS_CLUSTER set, from `aws eks update-kubeconfig` on the OIDC role
# the job assumed. Written with mode 600 to $KUBECONFIG_OUT; never printed.
.PHONY: verify-kubeconfig
verify-kubeconfig: ## Write $KUBECONFIG_OUT from $KUBECONFIG_CONTENT or EKS ($EKS_CLUSTER); print configured=true|false
	@out="$${KUBECONFIG_OUT:?set KUBECONFIG_OUT to the file to write}"; umask 077; \
	if [ -n "$${KUBECONFIG_CONTENT:-}" ]; then \
		printf '%s\n' "$$KUBECONFIG_CONTENT" > "$$out" && echo configured=true; \
	elif [ -n "$${EKS_CLUSTER:-}" ]; then \
		aws eks update-kubeconfig --name "$$EKS_CLUSTER" --kubeconfig "$$out" >/dev/null && echo configured=true; \
	else \
		echo configured=false; \
	fi

.PHONY: verify
verify: ## Wait until VERIFY_ENV runs its last promotion, then move its alias (python -m ci.verify)
	$(PY) -m ci.verify "$${VERIFY_ENV:-staging}" $${VERIFY_COMMIT:+--commit "$$VERIFY_COMMIT"} \
		$${VERIFY_TIMEOUT:+--timeout "$$VERIFY_TIMEOUT"}

.PHONY: consistency
consistency: ## Compare git, the registry and the cluster; CONSISTENCY_ISSUE=1 keeps the GitHub issue
	$(PY) -m ci.consistency $$([ "$${CONSISTENCY_ISSUE:-0}" = 1 ] && echo --issue)
