# The model server: run it, benchmark it, lint and build its image.

HOST ?= 127.0.0.1
PORT ?= 8080
IMAGE ?= mlops-lighthouse-model:dev
SERVE_REQUIREMENTS := requirements/serve.txt

.PHONY: serve
serve: setup ## Serve models/ on HOST:PORT (default 127.0.0.1:8080); run `make pipeline` first
	HOST=$(HOST) PORT=$(PORT) $(PY) -m model.serve

.PHONY: serve-bench
serve-bench: setup ## Benchmark the server against `mlflow models serve` (writes benchmarks/results/serve.json)
	$(PY) benchmarks/serve.py

.PHONY: serve-log-bench
serve-log-bench: setup ## What inference logging (sample 1.0) costs /predict (writes benchmarks/results/serve_inference_log.json)
	$(PY) benchmarks/serve_inference_log.py

$(SERVE_REQUIREMENTS): pyproject.toml uv.lock
	$(UV) export --frozen --no-default-groups --no-emit-project --format requirements-txt -o $@ --quiet

.PHONY: serve-requirements
serve-requirements: $(SERVE_REQUIREMENTS) ## Re-export the image's requirements from uv.lock

.PHONY: image-lint
image-lint: setup ## Lint both Dockerfiles with hadolint
	$(VENV)/bin/hadolint Dockerfile Dockerfile.train

.PHONY: image
image: setup ## Build the serving image (needs Docker), labelled with the model's version, git SHA and data hash
	@info="$$($(PY) -m model.serve --check | tail -n 1)"; \
	field() { printf '%s' "$$info" | $(PY) -c "import json, sys; print(json.load(sys.stdin)['$$1'])"; }; \
	set -x; docker build -t $(IMAGE) \
		--build-arg GIT_SHA="$$(field git_sha)" \
		--build-arg MODEL_VERSION="$$(field model_version)" \
		--build-arg DATA_HASH="$$(field data_hash)" .

# Keyless signing of the model artifact (docs/serving.md#signatures): CI signs with its OIDC identity, and anyone can
# check the bundle against that identity. Both need cosign (installed in CI by sigstore/cosign-installer).
MODEL_SIGNATURE_BUNDLE ?= build/model.sigstore.json
MODEL_SIGNATURE_IDENTITY ?=
MODEL_SIGNATURE_ISSUER ?= https://token.actions.githubusercontent.com

.PHONY: model-sign
model-sign: ## Sign models/model.skops keyless with cosign into MODEL_SIGNATURE_BUNDLE (needs an OIDC identity)
	@mkdir -p $(dir $(MODEL_SIGNATURE_BUNDLE))
	cosign sign-blob --yes --bundle $(MODEL_SIGNATURE_BUNDLE) models/model.skops

.PHONY: model-verify
model-verify: ## Check MODEL_SIGNATURE_BUNDLE against MODEL_SIGNATURE_IDENTITY and _ISSUER (cosign verify-blob)
	@test -n "$(MODEL_SIGNATURE_IDENTITY)" || { echo "MODEL_SIGNATURE_IDENTITY is not set: the workflow identity that must have signed (e.g. https://github.com/OWNER/REPO/.github/workflows/main.yml@refs/heads/main)" >&2; exit 2; }
	@test -f "$(MODEL_SIGNATURE_BUNDLE)" || { echo "$(MODEL_SIGNATURE_BUNDLE): no signature bundle (make model-sign)" >&2; exit 2; }
	cosign verify-blob --bundle $(MODEL_SIGNATURE_BUNDLE) --certificate-identity "$(MODEL_SIGNATURE_IDENTITY)" \
		--certificate-oidc-issuer "$(MODEL_SIGNATURE_ISSUER)" models/model.skops
