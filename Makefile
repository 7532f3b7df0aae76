# MLOps Lighthouse — every CI step is a target here, so it runs the same on a laptop and in GitHub Actions.
# Needs only python3 (3.11+), git and make: the first target bootstraps a pinned uv, then the locked environment.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV := $(TOOLS)/checkov/bin/checkov

# Privacy and quiet logs by default; a user may override any of these in the environment.
export MLFLOW_DISABLE_TELEMETRY ?= true
export DVC_NO_ANALYTICS ?= 1
export DO_NOT_TRACK ?= 1
export GX_ANALYTICS_ENABLED ?= False
export UV_PYTHON_DOWNLOADS ?= never
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_.-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

.PHONY: setup
setup: $(VENV)/.synced ## Create the locked environment (.venv)

$(CHECKOV): tools/checkov.txt $(UV)
	$(UV) venv --quiet --allow-existing $(TOOLS)/checkov
	VIRTUAL_ENV=$(TOOLS)/checkov $(UV) pip install --quiet --require-hashes -r tools/checkov.txt
	@touch $@

.PHONY: checkov-env
checkov-env: $(CHECKOV) ## Install checkov in its own environment (it conflicts with the main stack)

.PHONY: init
init: setup ## Initialise git and DVC where missing (a tarball or a fresh fork)
	@git rev-parse --git-dir >/dev/null 2>&1 || { git init --quiet && git add -A && git -c user.name=lighthouse -c user.email=lighthouse@localhost commit --quiet -m "Initial import"; }
	@test -d .dvc || $(VENV)/bin/dvc init --quiet

.PHONY: pipeline
pipeline: init ## Run the whole pipeline (dvc repro) and print a summary
	$(VENV)/bin/dvc repro
	@$(PY) -m model.stages.summary

.PHONY: lint
lint: setup ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

.PHONY: test
test: setup checkov-env ## Run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

# Each concern adds its targets in its own file (terraform, k8s, serving, ...).
-include mk/*.mk

.PHONY: clean
clean: ## Remove environments and caches (not data, models or reports)
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache

.PHONY: bench-pipeline
bench-pipeline: setup ## Benchmark cold and no-op `dvc repro` (per stage) in a throw-away copy
	$(PY) -m benchmarks.pipeline
