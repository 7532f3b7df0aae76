# Terraform: the same targets run locally and in .github/workflows/infra.yml.
#   make terraform-check                 fmt + parse/invariant/checkov tests (offline)
#   make terraform-validate              init -backend=false + validate of every root (needs the registry)
#   make terraform-plan ENV=platform     plan one root against its remote state (needs cloud credentials)
#   make terraform-apply ENV=platform    plan and apply that plan
# ENV is a root under terraform/envs/. State location: terraform/envs/$(ENV)/backend.hcl, or TF_STATE_BUCKET and
# TF_STATE_REGION (key lighthouse/$(ENV).tfstate). Variables: terraform.tfvars in the root, or TF_VAR_* variables.

TF ?= terraform
TF_ROOTS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard terraform/envs/*/versions.tf)))))
ENV ?= platform
TF_DIR = terraform/envs/$(ENV)
TF_STATE_BUCKET ?=
TF_STATE_REGION ?=
TF_STATE_KEY ?= lighthouse/$(ENV).tfstate
TF_PLAN = .terraform/lighthouse.tfplan
# Wrapper-free, no prompts, no colour codes in CI logs.
export TF_IN_AUTOMATION ?= 1
export TF_INPUT ?= 0

.PHONY: terraform-fmt
terraform-fmt: ## Format every terraform file in place
	$(TF) fmt -recursive terraform

.PHONY: terraform-check
terraform-check: setup checkov-env ## terraform fmt -check, HCL parse + invariant tests, checkov (offline)
	$(TF) fmt -check -recursive -diff terraform
	$(PY) -m pytest -q tests/terraform

.PHONY: terraform-validate
terraform-validate: ## terraform validate every root (downloads providers: needs the registry)
	@for root in $(TF_ROOTS); do \
		echo "== terraform/envs/$$root"; \
		$(TF) -chdir=terraform/envs/$$root init -backend=false -input=false -no-color >/dev/null || exit 1; \
		$(TF) -chdir=terraform/envs/$$root validate -no-color || exit 1; \
	done

.PHONY: terraform-env-check
terraform-env-check:
	@test -f "$(TF_DIR)/versions.tf" || { echo "ENV=$(ENV): no terraform root at $(TF_DIR) (roots: $(TF_ROOTS))" >&2; exit 2; }

.PHONY: terraform-init
terraform-init: terraform-env-check ## terraform init ENV=<root> against its remote state
	@if [ -n "$(TF_STATE_BUCKET)" ]; then \
		test -n "$(TF_STATE_REGION)" || { echo "TF_STATE_BUCKET is set but TF_STATE_REGION is not" >&2; exit 2; }; \
		set -x; $(TF) -chdir=$(TF_DIR) init -input=false -reconfigure \
			-backend-config="bucket=$(TF_STATE_BUCKET)" -backend-config="key=$(TF_STATE_KEY)" \
			-backend-config="region=$(TF_STATE_REGION)" -backend-config="encrypt=true" -backend-config="use_lockfile=true"; \
	elif [ -f "$(TF_DIR)/backend.hcl" ]; then \
		set -x; $(TF) -chdir=$(TF_DIR) init -input=false -reconfigure -backend-config=backend.hcl; \
	else \
		echo "$(TF_DIR): no remote state configured: copy backend.hcl.example to backend.hcl or set TF_STATE_BUCKET and TF_STATE_REGION" >&2; \
		exit 2; \
	fi

.PHONY: terraform-plan
terraform-plan: terraform-init ## terraform plan ENV=<root>, read-only (-lock=false); plan text in .terraform/plan.txt
	$(TF) -chdir=$(TF_DIR) plan -input=false -lock=false -out=$(TF_PLAN)
	$(TF) -chdir=$(TF_DIR) show -no-color $(TF_PLAN) > $(TF_DIR)/.terraform/plan.txt

.PHONY: terraform-apply
terraform-apply: terraform-init ## terraform plan + apply ENV=<root> (locks the state)
	$(TF) -chdir=$(TF_DIR) plan -input=false -out=$(TF_PLAN)
	$(TF) -chdir=$(TF_DIR) apply -input=false $(TF_PLAN)

.PHONY: terraform-lock
terraform-lock: ## Write .terraform.lock.hcl of every root for linux/macOS/windows (needs the registry; commit them)
	@for root in $(TF_ROOTS); do \
		echo "== terraform/envs/$$root"; \
		$(TF) -chdir=terraform/envs/$$root init -backend=false -input=false >/dev/null || exit 1; \
		$(TF) -chdir=terraform/envs/$$root providers lock \
			-platform=linux_amd64 -platform=linux_arm64 -platform=darwin_amd64 -platform=darwin_arm64 -platform=windows_amd64 || exit 1; \
	done

.PHONY: terraform-checkov
terraform-checkov: checkov-env ## checkov on terraform/ (offline)
	$(CHECKOV) -d terraform --framework terraform --skip-download --quiet --compact
