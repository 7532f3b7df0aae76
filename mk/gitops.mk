# GitOps: the commands behind .github/workflows, so every CI step also runs on a laptop.
# Promotion itself is `python -m ci.promote` (see `--help` and docs/gitops.md).

OVERLAYS ?= k8s/overlays
DVC := $(VENV)/bin/dvc

# The promotion jobs need the ci group only (ruamel.yaml, pydantic, PyYAML): ci.promote runs from the checkout and
# reads the registry over MLflow's REST API, so neither the project's serving set nor MLflow is installed.
.PHONY: setup-ci
setup-ci: $(UV) ## Light environment for promotion jobs: the ci group only (adds, never removes)
	$(UV) sync --frozen --quiet --inexact --only-group ci

# The system binaries the tests need beyond Python (.ci/run and the pr workflow): prometheus and promtool from the
# distribution's package. kubectl and terraform come with the runner image / setup-terraform.
.PHONY: test-tools
test-tools: ## Install prometheus + promtool (Debian/Ubuntu) when missing, so the PromQL tests run instead of skipping
	@if command -v promtool >/dev/null && command -v prometheus >/dev/null; then echo "prometheus and promtool present"; \
	else sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); $$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null; fi

# With DVC_REMOTE_URL set (a repository variable in CI), stage results come from the remote's run cache instead of
# being recomputed; DVC_PUSH=1 (main only, with write credentials) stores this run's results back for the next one.
.PHONY: repro
repro: init ## dvc repro, reusing the run cache of the DVC_REMOTE_URL remote when set
	@if [ -n "$${DVC_REMOTE_URL:-}" ]; then \
		case "$$DVC_REMOTE_URL" in s3://*) $(UV) sync --frozen --quiet --inexact --group s3 ;; esac; \
		$(DVC) remote add --local --force --default ci "$$DVC_REMOTE_URL" && \
		$(DVC) pull --run-cache --allow-missing --quiet || echo "warning: dvc pull from $$DVC_REMOTE_URL failed; reproducing from scratch" >&2; \
	fi
	$(DVC) repro $(if $(DVC_REMOTE_URL),--pull)
	@if [ -n "$${DVC_REMOTE_URL:-}" ] && [ "$${DVC_PUSH:-0}" = 1 ]; then $(DVC) push --run-cache; fi

.PHONY: overlays-check
overlays-check: setup ## Render every overlay and check its pinned image against its release.json
	$(PY) -m ci.check_overlays --overlays $(OVERLAYS)

# What the `pr` workflow's checks job runs, in the same order. gates/report (issue 3), image-lint (issue 4) and
# k8s-check (issue 6) are defined in their own mk/*.mk files.
.PHONY: pr-checks
pr-checks: lint repro gates report test image-lint k8s-check overlays-check ## Everything a PR must pass, locally
