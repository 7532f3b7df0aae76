"""How the fairness audit and the SHAP explanations scale with the held-out data: 5k, 50k and 500k rows.

The example data is resampled (with replacement, seeded) to each size and scored by the pipeline's model
(models/model.skops if the pipeline ran, else one trained here). Fairness runs on every row by design, so its
time should grow with the data; explain runs on a bounded sample (explain.sample_size), so it should not.

    .venv/bin/python benchmarks/fairness_explain.py [--sizes 5000 50000 500000] [--repeats 3]

Prints a table and writes benchmarks/results/fairness_explain.json (git-ignored). Figures depend on the machine
and its load: read them as growth ratios, not absolute promises.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.core import artifact, paths  # noqa: E402
from model.core.contract import load_contract  # noqa: E402
from model.core.dataset import features, labels, typed  # noqa: E402
from model.core.params import load_params  # noqa: E402
from model.core.pipeline import build_pipeline  # noqa: E402
from model.stages import explain, fairness  # noqa: E402
from model.stages.ingest import load_frame  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "fairness_explain.json"


def _timed(step: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time in seconds over `repeats` runs, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _model(contract: Any, params: Any, frame: pd.DataFrame) -> tuple[Any, str]:
    if (ROOT / paths.MODEL_ARTIFACT).exists():
        model, _ = artifact.load_verified(ROOT / paths.MODEL_DIR)
        return model, str(paths.MODEL_ARTIFACT)
    fitted = build_pipeline(contract, params.train).fit(features(frame, contract), labels(frame, contract))
    return fitted, "trained here on the example data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 50_000, 500_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    contract = load_contract(ROOT / paths.CONTRACT)
    params = load_params(ROOT / paths.PARAMS)
    example = typed(load_frame(params.ingest), contract)
    model, source = _model(contract, params, example)
    threshold = params.evaluate.threshold
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        plots = Path(scratch)
        for size in args.sizes:
            frame = example.sample(n=size, replace=True, random_state=size).reset_index(drop=True)
            y_true = labels(frame, contract)
            inputs = features(frame, contract)
            predict_s, proba = _timed(lambda f=inputs: model.predict_proba(f)[:, 1], args.repeats)
            y_pred = (proba >= threshold).astype(np.int64)
            audit_s, report = _timed(
                lambda f=frame, t=y_true, p=y_pred: fairness.audit(f, t, p, contract, params.fairness, threshold),
                args.repeats,
            )
            fplots_s, _ = _timed(lambda r=report: fairness.write_plots(r, plots / "fairness"), args.repeats)
            shap_s, attribution = _timed(
                lambda f=frame: explain.attribute(model, f, contract, params.explain), args.repeats
            )
            eplots_s, _ = _timed(lambda a=attribution: explain.write_plots(a, plots / "explain"), args.repeats)
            rows.append(
                {
                    "rows": size,
                    "fairness_predict_s": round(predict_s, 3),
                    "fairness_audit_s": round(audit_s, 3),
                    "fairness_plots_s": round(fplots_s, 3),
                    "fairness_total_s": round(predict_s + audit_s + fplots_s, 3),
                    "explain_shap_s": round(shap_s, 3),
                    "explain_plots_s": round(eplots_s, 3),
                    "explain_total_s": round(shap_s + eplots_s, 3),
                    "explain_sample": len(attribution.values),
                    "explainer": attribution.explainer,
                }
            )
            print(f"{size} rows done", file=sys.stderr)

    header = f"{'rows':>8} | {'fairness: predict':>17} {'audit':>7} {'plots':>6} {'total':>7} | "
    header += f"{'explain: shap':>13} {'plots':>6} {'total':>7} {'sample':>6}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['rows']:>8} | {r['fairness_predict_s']:>16.2f}s {r['fairness_audit_s']:>6.2f}s "
            f"{r['fairness_plots_s']:>5.2f}s {r['fairness_total_s']:>6.2f}s | {r['explain_shap_s']:>12.2f}s "
            f"{r['explain_plots_s']:>5.2f}s {r['explain_total_s']:>6.2f}s {r['explain_sample']:>6}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "model": source,
                "repeats": args.repeats,
                "statistic": "median wall seconds",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
