"""Print what the pipeline produced: the gate verdict, key metrics and where the reports and the model are."""

from __future__ import annotations

import sys
from pathlib import Path

from model.core import paths
from model.core.io import read_json
from model.stages.register import REGISTRATION

KEY_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss", "brier")


def gate_lines(root: Path) -> list[str]:
    """The verdict of reports/gates.json in a line or two, naming failing and advisory gates."""
    path = root / paths.GATES_REPORT
    if not path.exists():
        return ["Gates:      not run (reports/gates.json missing)"]
    report = read_json(path)
    counts = report.get("counts", {})
    verdict = "PASSED" if report.get("passed") else "BLOCKED by " + ", ".join(report.get("failed", []))
    figures = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n)
    lines = [f"Gates:      {verdict} ({figures})"]
    if report.get("advisory_warnings"):
        lines.append("            advisory: " + ", ".join(report["advisory_warnings"]))
    return lines


def render(root: Path = Path()) -> str:
    lines = ["", "MLOps Lighthouse: pipeline summary", "=" * 34, *gate_lines(root)]
    metrics_path = root / paths.METRICS
    if metrics_path.exists():
        metrics = read_json(metrics_path)
        lines.append("Held-out metrics:")
        lines += [f"  {name:<10} {metrics[name]:.4f}" for name in KEY_METRICS if name in metrics]
    registration = root / REGISTRATION
    if registration.exists():
        reg = read_json(registration)
        lines.append(f"Registered: {reg['name']} version {reg['version']} (alias {reg['alias']}), run {reg['run_id']}")
    lines.append(f"Model:      {paths.MODEL_ARTIFACT} (record {paths.MODEL_RECORD})")
    lines.append(f"Read first: {paths.PR_REPORT} (verdict, champion, fairness, features); {paths.MODEL_CARD}")
    reports = sorted(
        p.relative_to(root) for p in (root / paths.REPORTS).rglob("*") if p.is_file() and p.name != ".gitignore"
    )
    lines.append("Reports:    " + ", ".join(str(p) for p in reports))
    lines.append("MLflow UI:  .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db")
    return "\n".join(lines)


def main() -> int:
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
