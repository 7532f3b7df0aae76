# Quality gates and the reviewer's report (docs/gates.md). Both read the outputs `make pipeline` left behind.

.PHONY: gates
gates: setup ## Re-run the quality gates on the pipeline outputs (reports/gates.json, reports/gates.xml)
	$(PY) -m ci.champion
	$(PY) -m ci.gates

.PHONY: report
report: setup ## Render reports/pr_report.md and reports/model_card.md from whatever outputs exist
	$(PY) -m ci.report
