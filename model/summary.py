"""Print what the pipeline produced: key metrics and where the reports and the model are."""

from __future__ import annotations

import sys
from pathlib import Path

from model import paths
from model.io import read_json
from model.register import REGISTRATION

KEY_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss", "brier")


def render(root: Path = Path()) -> str:
    lines = ["", "MLOps Lighthouse: pipeline summary", "=" * 34]
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
    reports = sorted(p.relative_to(root) for p in (root / paths.REPORTS).rglob("*") if p.is_file())
    lines.append("Reports:    " + ", ".join(str(p) for p in reports))
    lines.append("MLflow UI:  .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db")
    return "\n".join(lines)


def main() -> int:
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
