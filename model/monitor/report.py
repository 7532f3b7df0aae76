"""Run every check on a window and write the verdict: reports/drift.json (for machines), reports/drift.md and
its plots (for people). Each file is replaced whole, the JSON last, so a reader never sees a half-written report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core.contract import Contract
from model.core.io import write_json, write_text
from model.core.params import MonitorParams
from model.monitor import drift
from model.monitor.profile import ReferenceProfile
from model.monitor.quality import check_window
from model.monitor.window import Window, require_columns

SCHEMA_VERSION = 1
EXIT_OK, EXIT_BAD_INPUT, EXIT_INSUFFICIENT, EXIT_WARN, EXIT_ALERT = 0, 2, 3, 10, 20
EXIT_CODES = {"ok": EXIT_OK, "warn": EXIT_WARN, "alert": EXIT_ALERT, "insufficient_data": EXIT_INSUFFICIENT}


@dataclass
class Scorer:
    """The served model, to score batches that carry no predicted probability."""

    model: Any
    sha256: str

    def score(self, typed: pd.DataFrame, contract: Contract) -> np.ndarray:
        names = [c.name for c in contract.feature_columns]
        usable = typed[names].notna().all(axis=1).to_numpy()
        scores = np.full(len(typed), np.nan)
        if usable.any():
            scores[usable] = self.model.predict_proba(typed.loc[usable, names])[:, 1]
        return scores


@dataclass
class Verdict:
    report: dict[str, Any]
    features: list[drift.Distribution] = field(default_factory=list)
    prediction: drift.Distribution | None = None

    @property
    def status(self) -> str:
        status: str = self.report["status"]
        return status

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def evaluate_window(
    window: Window,
    profile: ReferenceProfile,
    contract: Contract,
    params: MonitorParams,
    *,
    reference_source: str,
    scorer: Scorer | None = None,
    now: float | None = None,
) -> Verdict:
    """Every check on `window`; raises BadInputError when it cannot be judged at all."""
    require_columns(window, contract)
    quality_columns, typed = check_window(window, contract)
    notes: list[str] = []
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": _iso(time.time() if now is None else now),
        "window": window.describe(),
        "reference": {
            "source": reference_source,
            "rows": profile.rows,
            "model_sha256": profile.model_sha256,
            "data_hash": profile.data_hash,
        },
        "thresholds": params.model_dump(),
        "notes": notes,
    }
    quality = drift.quality_findings(quality_columns, params)
    report["quality"] = {
        "status": drift.worst([q.status for q in quality]),
        "columns": [drift.as_dict(q) for q in quality],
    }
    if window.rows < params.min_rows:
        findings = [f"{window.rows} rows, fewer than min_rows {params.min_rows}: not judged"]
        report.update(status="insufficient_data", findings=findings)
        report.update(features=[], prediction=None, label=None, performance=None)
        return Verdict(report)

    probabilities = window.probabilities
    if probabilities is None and scorer is not None:
        probabilities = scorer.score(typed, contract)
        if profile.model_sha256 and scorer.sha256 != profile.model_sha256:
            notes.append(
                f"scored with model {scorer.sha256[:12]}, but the reference was built for {profile.model_sha256[:12]}"
            )
    if probabilities is None:
        notes.append("no predicted scores (no `probability` column and no model): prediction drift not measured")

    features = drift.feature_drift(profile, typed, contract, params)
    prediction = None
    if profile.prediction is not None and probabilities is not None:
        prediction = drift.numeric_drift("prediction", profile.prediction, probabilities, params)
    target = contract.target.column
    labels = typed[target] if target in typed.columns else None
    label = None
    if labels is not None and profile.label is not None and labels.notna().any():
        label = drift.categorical_drift(target, profile.label, labels, params)
    perf = drift.performance(labels, probabilities, profile, contract, params)

    findings = [f"{f.summary()} -> {f.status}" for f in [*features, prediction, label] if f and f.status != "ok"]
    findings += [
        f"quality {q.column}: {q.violation_rate:.2%} of values break the contract -> {q.status}"
        for q in quality
        if q.status != "ok"
    ]
    if perf is not None and perf.status in ("warn", "alert"):
        findings.append(
            f"performance: {perf.metric} {perf.window[perf.metric]:.3f} vs {perf.reference[perf.metric]:.3f} "
            f"held-out (drop {perf.drop:.3f}) -> {perf.status}"
        )
    statuses = [f.status for f in features] + [q.status for q in quality]
    statuses += [d.status for d in (prediction, label) if d is not None]
    if perf is not None and perf.status != "not_judged":
        statuses.append(perf.status)
    report.update(
        status=drift.worst(statuses),
        findings=findings,
        features=[drift.as_dict(f) for f in features],
        prediction=drift.as_dict(prediction) if prediction else None,
        label=drift.as_dict(label) if label else None,
        performance=drift.as_dict(perf) if perf else None,
    )
    return Verdict(report, features, prediction)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- writing ---------------------------------------------------------------------------------------------------

STATUS_MARK = {"ok": "OK", "warn": "WARN", "alert": "ALERT", "insufficient_data": "NOT ENOUGH DATA", "not_judged": "-"}


def render_markdown(report: dict[str, Any], plots: dict[str, str]) -> str:
    window, reference = report["window"], report["reference"]
    lines = [
        f"# Drift report: {STATUS_MARK[report['status']]}",
        "",
        f"Window: {window['kind']} `{window['source']}`, {window['rows']} rows"
        + (f", {window['first']} to {window['last']}" if window.get("first") else "")
        + (f", model versions {window['model_versions']}" if window.get("model_versions") else "")
        + ".",
        f"Reference: `{reference['source']}`, {reference['rows']} rows. Generated {report['generated_at']}.",
        "",
    ]
    if report["findings"]:
        lines += ["## Findings", "", *(f"- {finding}" for finding in report["findings"]), ""]
    else:
        lines += ["Nothing drifted beyond the thresholds.", ""]
    lines += [f"- note: {note}" for note in report["notes"]] + ([""] if report["notes"] else [])
    distributions = [*report["features"], report["prediction"], report["label"]]
    if report["features"]:
        thresholds = report["thresholds"]
        lines += [
            "## Distributions",
            "",
            f"PSI warn {thresholds['psi_warn']}, alert {thresholds['psi_alert']}; a shift counts only when its test "
            f"is significant (p < {thresholds['p_value']}).",
            "",
            "| | kind | rows | PSI | test | p-value | status |",
            "|---|---|---:|---:|---|---:|---|",
        ]
        for d in (d for d in distributions if d):
            p = "n/a" if d["p_value"] is None else f"{d['p_value']:.2g}"
            lines.append(
                f"| {d['name']} | {d['kind']} | {d['rows']} | {d['psi']:.3f} | {d['test']} | {p} | "
                f"{STATUS_MARK[d['status']]} |"
            )
        lines.append("")
    quality = report["quality"]
    lines += [
        f"## Data quality: {STATUS_MARK[quality['status']]}",
        "",
        "| column | rows | missing | wrong type | out of domain | violation rate | examples | status |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for q in quality["columns"]:
        lines.append(
            f"| {q['column']} | {q['rows']} | {q['missing']} | {q['wrong_type']} | {q['out_of_domain']} | "
            f"{q['violation_rate']:.2%} | {', '.join(map(str, q['examples'])) or ''} | {STATUS_MARK[q['status']]} |"
        )
    lines.append("")
    perf = report["performance"]
    if perf:
        lines += [f"## Performance (delayed labels): {STATUS_MARK[perf['status']]}", ""]
        if perf["status"] == "not_judged":
            lines += [f"Not judged: {perf['reason']} ({perf['labelled_rows']} labelled rows).", ""]
        else:
            lines += [
                f"{perf['labelled_rows']} labelled rows; judged on `{perf['metric']}` (drop {perf['drop']:.3f}).",
                "",
                "| metric | held-out | window |",
                "|---|---:|---:|",
                *(
                    f"| {name} | {perf['reference'].get(name, float('nan')):.4f} | {value:.4f} |"
                    for name, value in sorted(perf["window"].items())
                ),
                "",
            ]
    if plots:
        lines += ["## Plots", "", *(f"![{title}]({path})" for title, path in plots.items()), ""]
    return "\n".join(lines)


def write_reports(verdict: Verdict, json_path: Path, markdown_path: Path, plots_dir: Path | None) -> None:
    plots: dict[str, str] = {}
    if plots_dir is not None and verdict.features:
        from model.monitor.plots import write_plots

        written = write_plots(verdict.features, verdict.prediction, verdict.report["thresholds"], plots_dir)
        base = markdown_path.parent.resolve()
        plots = {
            title: str(path.resolve().relative_to(base)) if path.resolve().is_relative_to(base) else str(path)
            for title, path in written.items()
        }
    write_text(markdown_path, render_markdown(verdict.report, plots) + "\n")
    write_json(json_path, {**verdict.report, "exit_code": verdict.exit_code})
