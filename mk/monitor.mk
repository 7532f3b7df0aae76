# Drift monitoring (docs/monitoring.md). The same targets run locally and in .github/workflows/monitor.yml.
#   make monitor                          the last MONITOR_SINCE of the inference log in MONITOR_LOGS
#   make monitor MONITOR_BATCH=file.csv   a batch file instead (CSV, Parquet, JSON lines); add the target column
#                                         or MONITOR_LABELS=labels.csv for performance (concept drift)
#   make monitor-fetch                    download the window from MONITOR_WINDOW_URL (s3://, gs://, azure://,
#                                         https://, a path) into MONITOR_LOGS with `dvc get-url`
#   make monitor-release-reference        the reference of the model released to MONITOR_ENVIRONMENT
# Exit codes of `python -m model.monitor`: 0 ok, 10 warn, 20 alert, 3 not enough data, 2 bad input (make itself
# reports any of them as a failure; CI calls the module directly to read the code).

MONITOR_LOGS ?= build/inference-log
MONITOR_SINCE ?= 24h
MONITOR_BATCH ?=
MONITOR_LABELS ?=
MONITOR_REFERENCE ?= models/reference.json
MONITOR_ENVIRONMENT ?= production
MONITOR_WINDOW_URL ?=
MONITOR_ARGS ?=

.PHONY: monitor
monitor: setup ## Drift report (reports/drift.md) on the inference log (MONITOR_LOGS) or a batch (MONITOR_BATCH)
	$(PY) -m model.monitor \
		$(if $(MONITOR_BATCH),--batch $(MONITOR_BATCH),--logs $(MONITOR_LOGS) --since $(MONITOR_SINCE)) \
		$(if $(MONITOR_LABELS),--labels $(MONITOR_LABELS)) --reference $(MONITOR_REFERENCE) $(MONITOR_ARGS)

.PHONY: monitor-fetch
monitor-fetch: setup ## Download the inference-log window from MONITOR_WINDOW_URL into MONITOR_LOGS
	@test -n "$(MONITOR_WINDOW_URL)" || { echo "MONITOR_WINDOW_URL is not set (see docs/monitoring.md)" >&2; exit 2; }
	@case "$(MONITOR_WINDOW_URL)" in s3://*) $(UV) sync --frozen --quiet --group s3;; esac
	rm -rf $(MONITOR_LOGS)
	$(VENV)/bin/dvc get-url "$(MONITOR_WINDOW_URL)" $(MONITOR_LOGS)

.PHONY: monitor-release-reference
monitor-release-reference: ## Write the reference of the model released to MONITOR_ENVIRONMENT to build/reference.json
	@mkdir -p build
	@release=k8s/overlays/$(MONITOR_ENVIRONMENT)/release.json; \
	if [ -f "$$release" ]; then \
		sha=$$($(PY) -c 'import json, sys; print(json.load(open(sys.argv[1]))["git_sha"])' "$$release"); \
		if git show "$$sha:models/reference.json" > build/reference.json.tmp 2>/dev/null; then \
			mv build/reference.json.tmp build/reference.json; \
			echo "reference of the release in $$release (commit $$sha) -> build/reference.json"; \
		else \
			rm -f build/reference.json.tmp; cp models/reference.json build/reference.json; \
			echo "warning: commit $$sha (from $$release) has no models/reference.json: using this checkout's" >&2; \
		fi; \
	else \
		cp models/reference.json build/reference.json; \
		echo "no release in $$release yet: using this checkout's models/reference.json -> build/reference.json"; \
	fi

.PHONY: monitor-reference
monitor-reference: setup ## Rebuild models/reference.json from the pipeline's outputs (dvc repro monitor_reference)
	$(VENV)/bin/dvc repro monitor_reference

.PHONY: monitor-benchmark
monitor-benchmark: setup ## Time and memory of the inference log and the monitor at 10k and 1M rows (after make pipeline)
	$(PY) benchmarks/monitor.py
