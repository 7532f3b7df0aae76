"""The `report` stage: reports/pr_report.md (the PR comment and job summary) and reports/model_card.md.

Both are pure functions of the pipeline's outputs (no clock, no environment but an optional link base), so the
same outputs always give the same bytes and a PR diff of them shows only real changes. A missing output becomes a
line saying so, never a crash: after a blocking gate stops the pipeline, `make report` still renders what exists,
so the PR comment shows why.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ci.gate_plan import FAIRNESS_METRICS
from ci.markdown import code, number, table
from ci.outputs import PipelineOutputs
from model.core import paths
from model.core.errors import LighthouseError
from model.core.io import write_text
from model.core.metrics import LOWER_IS_BETTER

#: The hidden first line the PR-comment workflow looks for to update its sticky comment in place.
PR_MARKER = "<!-- lighthouse-pr-report -->"
#: Optional URL prefix for links to files under reports/ (e.g. where CI publishes them); default: relative links.
LINK_BASE_ENV = "LIGHTHOUSE_REPORT_LINK_BASE"
VERDICT_WORDS = {"pass": "pass", "fail": "FAIL", "warn": "warn (advisory)", "error": "ERROR"}
METRIC_ORDER = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss", "brier")


class Report:
    """Renders both documents from one root's outputs."""

    def __init__(self, outputs: PipelineOutputs, link_base: str = "") -> None:
        self.outputs = outputs
        self.link_base = link_base.rstrip("/")

    # -- helpers ---------------------------------------------------------------------------------------------
    def _section(self, render: Callable[[], list[str]]) -> list[str]:
        """Render a section; a missing or unreadable output becomes one explanatory line."""
        try:
            return render()
        except (LighthouseError, KeyError, ValueError) as exc:
            return [f"_Not available: {exc}_"]

    def _gates(self) -> dict[str, Any] | None:
        return self.outputs.optional_json(paths.GATES_REPORT)

    def _gate_verdicts(self) -> dict[str, dict[str, Any]]:
        report = self._gates()
        return {g["name"]: g for g in report["gates"]} if report else {}

    def link(self, relative_to_reports: Path) -> str:
        """A link to a file under reports/: relative to the report itself, or under the configured base."""
        target = relative_to_reports.as_posix()
        return f"{self.link_base}/{target}" if self.link_base else target

    def _verdict_of(self, names: dict[str, str]) -> str:
        """`pass`, or each non-passing gate's verdict with the short label `names` gives it; `-` if none ran."""
        verdicts = self._gate_verdicts()
        found = [(verdicts[n], label) for n, label in names.items() if n in verdicts]
        if not found:
            return "-"
        bad = [(g, label) for g, label in found if g["verdict"] != "pass"]
        return "pass" if not bad else ", ".join(f"{VERDICT_WORDS[g['verdict']]}: {label}" for g, label in bad)

    def _metric_names(self) -> list[str]:
        metrics = self.outputs.metrics
        return [m for m in METRIC_ORDER if m in metrics] + sorted(set(metrics) - set(METRIC_ORDER))

    # -- sections shared by both documents ---------------------------------------------------------------
    def headline(self) -> list[str]:
        report = self._gates()
        if report is None:
            return [
                "# Model gates: NOT RUN",
                "",
                "_reports/gates.json is missing: the pipeline stopped before the gates._",
            ]
        counts = report["counts"]
        total = sum(counts.values())
        icon, word = ("✅", "PASSED") if report["passed"] else ("❌", "BLOCKED")
        summary = ", ".join(
            f"{counts[k]} {label}"
            for k, label in (
                ("pass", "passed"),
                ("fail", "failed"),
                ("warn", "advisory warning(s)"),
                ("error", "error(s)"),
            )
            if counts[k]
        )
        lines = [f"# {icon} Model gates: {word}", "", f"**{total} gates: {summary}.**"]
        blocking = [g for g in report["gates"] if g["blocking"] and g["verdict"] in ("fail", "error")]
        advisory = [g for g in report["gates"] if not g["blocking"] and g["verdict"] != "pass"]
        if blocking:
            lines += ["", "Blocking (the model is not registered until these pass):"]
            lines += [f"- ❌ `{g['name']}`: {g['detail']}" for g in blocking]
        if advisory:
            lines += ["", "Advisory (reported, not blocking):"]
            lines += [f"- ⚠️ `{g['name']}`: {g['detail']}" for g in advisory]
        return lines

    def model_line(self) -> list[str]:
        record = self.outputs.record
        name = self.outputs.params.tracking.registered_model
        return [
            f"Challenger: `{name}` ({record.estimator}) trained on {record.trained_rows} rows of data "
            f"{code(record.data_hash[:12])} at commit {code(record.git_sha[:12])}."
        ]

    def champion_lines(self) -> list[str]:
        snapshot = self.outputs.champion_snapshot
        champion = self.outputs.champion
        if champion is None:
            return [
                f"_No champion yet_: {snapshot['source']} does not exist, so the regression gates pass with that note."
            ]
        image = champion.image.digest or "-"
        version = champion.model.version or "-"
        return [
            f"Champion: `{champion.model.name}` version {version} from {code(snapshot['source'])} "
            f"(commit {code(champion.git_sha[:12] or '-')}, image {code(image[:19])})."
        ]

    def comparison(self) -> list[str]:
        metrics = self.outputs.metrics
        champion = self.outputs.champion
        bounds = self.outputs.params.gates.metrics
        allowed = self.outputs.params.gates.regression
        rows = []
        for name in self._metric_names():
            best = champion.metrics.get(name) if champion else None
            delta = metrics[name] - best if best is not None else None
            rule = []
            if name in bounds and bounds[name].min is not None:
                rule.append(f">= {bounds[name].min:g}")
            if name in bounds and bounds[name].max is not None:
                rule.append(f"<= {bounds[name].max:g}")
            if name in allowed:
                rule.append(f"{'rise' if name in LOWER_IS_BETTER else 'drop'} <= {allowed[name]:g}")
            gate_names = {
                f"metric.{name}.min": "floor",
                f"metric.{name}.max": "ceiling",
                f"regression.{name}": "regression",
            }
            rows.append(
                [
                    name + (" (lower is better)" if name in LOWER_IS_BETTER else ""),
                    number(metrics[name]),
                    number(best),
                    number(delta, signed=True),
                    ", ".join(rule) or "-",
                    self._verdict_of(gate_names),
                ]
            )
        return [table(["metric", "challenger", "champion", "delta", "gate rule", "verdict"], rows, right=(1, 2, 3))]

    def _fairness_entries(self) -> list[dict[str, Any]]:
        """Audited attributes in contract order (unknown ones after), then the intersection."""
        report = self.outputs.fairness
        order = [a.column for a in self.outputs.contract.sensitive_attributes]
        names = sorted(report["attributes"], key=lambda n: (order.index(n) if n in order else len(order), n))
        intersection = [report["intersection"]] if report.get("intersection") else []
        return [*(report["attributes"][n] for n in names), *intersection]

    def fairness_summary(self) -> list[str]:
        report = self.outputs.fairness
        gates = self.outputs.params.gates.fairness
        champion = self.outputs.champion
        rows = []
        for entry in self._fairness_entries():
            name = entry["name"]
            intersection = name == "intersection" and entry is report.get("intersection")
            maxima = gates.intersection if intersection else gates.maxima_for(name)
            family = "fairness_intersection" if intersection else f"fairness.{name}"
            champ = (champion.fairness.get(name, {}) if champion else {}) or {}
            rows.append(
                [
                    " x ".join(entry["columns"]) if intersection else name,
                    f"{len(entry['groups'])} ({len(entry['assessed_groups'])})",
                    number(entry["demographic_parity_difference"]),
                    number(entry["demographic_parity_ratio"]),
                    number(entry["equalized_odds_difference"]),
                    f"{maxima.demographic_parity_difference:g} / {maxima.equalized_odds_difference:g}"
                    if maxima
                    else "-",
                    " / ".join(number(champ.get(m)) for m in FAIRNESS_METRICS),
                    self._verdict_of(
                        {f"{family}.demographic_parity_difference": "DPD", f"{family}.equalized_odds_difference": "EOD"}
                    ),
                ]
            )
        lines = [
            f"On the whole held-out split ({report['rows']} rows) at threshold {report['threshold']:g}; "
            f"groups under {report['min_group_size']} rows are listed but not assessed. "
            "DPD/DPR: demographic parity difference/ratio; EOD: equalized odds difference.",
            "",
            table(
                [
                    "attribute",
                    "groups (assessed)",
                    "DPD",
                    "DPR",
                    "EOD",
                    "max DPD / EOD",
                    "champion DPD / EOD",
                    "verdict",
                ],
                rows,
                right=(2, 3, 4),
            ),
        ]
        small = [
            f"- {entry['name']}: " + ", ".join(f"{g['group']} (n={g['count']})" for g in entry["groups"] if g["small"])
            for entry in self._fairness_entries()
            if entry["small_groups"]
        ]
        if small:
            lines += ["", "Small groups (reported, not assessed):", *small]
        return lines

    def fairness_groups(self) -> list[str]:
        lines: list[str] = []
        for entry in self._fairness_entries():
            rows = [
                [
                    g["group"] + (" (small)" if g["small"] else ""),
                    g["count"],
                    g["positives"],
                    number(g["selection_rate"], 3),
                    number(g["true_positive_rate"], 3),
                    number(g["false_positive_rate"], 3),
                    number(g["precision"], 3),
                    number(g["accuracy"], 3),
                ]
                for g in entry["groups"]
            ]
            lines += [
                f"**{entry['name']}**"
                + (f" (bands from {', '.join(f'{b:g}' for b in entry['bands'])})" if entry.get("bands") else ""),
                "",
                table(
                    ["group", "rows", "positives", "selection", "TPR", "FPR", "precision", "accuracy"],
                    rows,
                    right=range(1, 8),
                ),
                "",
            ]
        return lines[:-1]

    def features(self, limit: int | None) -> list[str]:
        explain = self.outputs.explain
        shown = explain["features"][:limit] if limit else explain["features"]
        rows = [[f["rank"], f["feature"], number(f["mean_abs_shap"]), f"{f['share']:.1%}"] for f in shown]
        return [
            f"Mean |SHAP| ({explain['scale']}) on {explain['sample_size']} of {explain['rows_available']} held-out "
            f"rows, {explain['explainer']} explainer; one-hot columns summed back to their feature.",
            "",
            table(["#", "feature", "mean abs SHAP", "share"], rows, right=(0, 2, 3)),
        ]

    def validation(self) -> list[str]:
        report = self.outputs.validation
        icon = "✅" if report["success"] else "❌"
        lines = [
            f"{icon} {report['evaluated'] - report['failed']}/{report['evaluated']} expectations passed on "
            f"{code(report['data'])} (suite {code(paths.SUITE)}, derived from {code(paths.CONTRACT)})."
        ]
        broken = [r for r in report["results"] if not r["success"]]
        if broken:
            rows = [
                [r["rule"], r["column"] or "table", r.get("unexpected_count") or "-", r.get("detail") or ""]
                for r in broken
            ]
            lines += ["", table(["rule", "column", "unexpected", "detail"], rows)]
        return lines

    def all_gates(self) -> list[str]:
        report = self._gates()
        if report is None:
            return ["_reports/gates.json is missing._"]
        rows = [
            [
                g["name"],
                VERDICT_WORDS[g["verdict"]],
                "blocking" if g["blocking"] else "advisory",
                number(g["value"]),
                f"{g['comparison']} {number(g['threshold'])}" if g["threshold"] is not None else "-",
                g["detail"],
            ]
            for g in report["gates"]
        ]
        return [table(["gate", "verdict", "kind", "value", "threshold", "detail"], rows, right=(3,))]

    def plots(self) -> list[str]:
        reports = self.outputs.path(paths.REPORTS)
        lines = []
        for title, directory in (("Fairness", paths.FAIRNESS_PLOTS), ("SHAP", paths.EXPLAIN_PLOTS)):
            pngs = sorted(self.outputs.path(directory).glob("*.png"))
            if pngs:
                links = ", ".join(f"[{p.stem}]({self.link(p.relative_to(reports))})" for p in pngs)
                lines.append(f"- {title}: {links}")
        lines.append(
            "- All plots, with ROC, precision-recall and calibration: `dvc plots show` (or `dvc plots diff main`)"
        )
        return lines

    def provenance(self) -> list[str]:
        record = self.outputs.record
        rows = [
            ["git commit (training)", code(record.git_sha)],
            ["DVC data hash (md5 of data/raw.csv)", code(record.data_hash)],
            ["contract sha256", code(record.contract_sha256)],
            ["model artifact sha256", code(record.sha256)],
            ["MLflow run", code(record.mlflow_run_id or "-")],
            ["MLflow model", code(record.mlflow_model_uri or "-")],
            ["scikit-learn", code(record.sklearn_version)],
        ]
        return [table(["what", "value"], rows)]

    # -- documents ---------------------------------------------------------------------------------------
    def pr_report(self) -> str:
        top = self.outputs.params.report.top_features
        parts = [
            [PR_MARKER],
            self._section(self.headline),
            self._section(self.model_line),
            ["## Challenger vs champion", "", *self._section(self.champion_lines), "", *self._section(self.comparison)],
            ["## Fairness", "", *self._section(self.fairness_summary)],
            [f"## Top {top} features", "", *self._section(lambda: self.features(top))],
            ["## Data validation", "", *self._section(self.validation)],
            [
                "## All gates",
                "",
                "<details><summary>Every gate, value and threshold</summary>",
                "",
                *self._section(self.all_gates),
                "",
                "</details>",
            ],
            ["## Plots", "", *self._section(self.plots)],
            ["## Provenance", "", *self._section(self.provenance)],
        ]
        return "\n\n".join("\n".join(part) for part in parts) + "\n"

    def model_card(self) -> str:
        params = self.outputs.params
        contract = self.outputs.contract
        parts = [
            [f"# Model card: {params.tracking.registered_model}"],
            [
                f"Dataset `{contract.name}`. Generated by `python -m ci.report` from the pipeline's outputs; "
                "edit params.yaml (`report`) and data/contract.yaml, not this file."
            ],
            ["## Intended use", "", params.report.intended_use],
            ["## Model", "", *self._section(self.model_facts)],
            ["## Data", "", *self._section(self.data_facts), "", *self._section(self.validation)],
            [
                "## Metrics (held-out split)",
                "",
                *self._section(self.champion_lines),
                "",
                *self._section(self.comparison),
            ],
            ["## Fairness", "", *self._section(self.fairness_summary), "", *self._section(self.fairness_groups)],
            ["## Explanations", "", *self._section(lambda: self.features(None))],
            ["## Quality gates", "", *self._section(self.headline_plain), "", *self._section(self.all_gates)],
            ["## Limitations", "", *[f"- {item}" for item in params.report.limitations], *self._section(self.caveats)],
            ["## Provenance", "", *self._section(self.provenance)],
        ]
        return "\n\n".join("\n".join(part) for part in parts) + "\n"

    def headline_plain(self) -> list[str]:
        return [line.replace("# ", "", 1) if line.startswith("# ") else line for line in self.headline()]

    def model_facts(self) -> list[str]:
        record = self.outputs.record
        params = self.outputs.params
        return [
            f"- Estimator: `{record.estimator}` with {params.train.estimator_params()} (seed {params.train.seed}), "
            "preprocessing inside the scikit-learn pipeline (model/core/pipeline.py).",
            f"- Features ({len(record.features)}): {', '.join(record.features)}.",
            f"- Predicts `{self.outputs.contract.target.column} = {self.outputs.contract.target.positive_label!r}` "
            f"when the probability is at least {params.evaluate.threshold:g}.",
            f"- Trained on {record.trained_rows} rows; artifact {code(paths.MODEL_ARTIFACT)} "
            "(skops, sha256-verified at load).",
        ]

    def data_facts(self) -> list[str]:
        contract = self.outputs.contract
        sensitive = {a.column: a for a in contract.sensitive_attributes}
        rows = []
        for column in contract.columns:
            role = "feature" if column in contract.feature_columns else "not a feature"
            if column.name in sensitive:
                role += ", audited"
            labels = column.category_labels or {}
            if column.categories is not None:
                domain = ", ".join(f"{c} = {labels[c]}" if c in labels else str(c) for c in column.categories)
            elif column.min is not None or column.max is not None:
                low = "-inf" if column.min is None else f"{column.min:g}"
                high = "inf" if column.max is None else f"{column.max:g}"
                domain = f"{low} .. {high}"
            else:
                domain = "-"
            rows.append([column.name, column.dtype, role, domain, column.description])
        target = contract.target
        rows.append(
            [
                target.column,
                target.dtype,
                f"target (positive: {target.positive_label!r})",
                ", ".join(map(str, target.labels)),
                "",
            ]
        )
        return [
            contract.description.strip(),
            "",
            f"Source: {contract.source or '-'}. Held-out split: {self.outputs.params.split.test_size:g} of the rows "
            f"(seed {self.outputs.params.split.seed}).",
            "",
            table(["column", "type", "role", "values", "description"], rows),
        ]

    def caveats(self) -> list[str]:
        """Limitations the outputs themselves reveal."""
        lines = []
        for entry in self._fairness_entries():
            if entry["small_groups"]:
                lines.append(
                    f"- Fairness by {entry['name']}: {len(entry['small_groups'])} group(s) too small to assess "
                    f"({', '.join(entry['small_groups'][:4])}{', ...' if len(entry['small_groups']) > 4 else ''})."
                )
            elif entry["demographic_parity_difference"] is None:
                lines.append(f"- Fairness by {entry['name']}: {entry['note']}.")
        explain = self.outputs.explain
        lines.append(f"- Explanations are global, from a {explain['sample_size']}-row sample; they are not causal.")
        return lines


def render(root: Path, link_base: str = "") -> dict[Path, str]:
    """Both documents for the outputs under `root`, keyed by where they are written."""
    report = Report(PipelineOutputs(root), link_base)
    return {paths.PR_REPORT: report.pr_report(), paths.MODEL_CARD: report.model_card()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.report", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(), help="project root whose outputs the reports read")
    parser.add_argument(
        "--link-base",
        default=os.environ.get(LINK_BASE_ENV, ""),
        help=f"URL prefix for links to files under reports/ (default: ${LINK_BASE_ENV}, else relative links)",
    )
    args = parser.parse_args(argv)
    try:
        documents = render(args.root, args.link_base)
    except LighthouseError as exc:  # params or contract unreadable: nothing sensible to render
        print(f"report: {exc}", file=sys.stderr)
        return 2
    for relative, text in documents.items():
        write_text(args.root / relative, text)
        print(f"report: wrote {args.root / relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
