"""`python -m model.monitor`: compare a window of logged inferences, or a batch file, with the training reference.

Exit codes: 0 ok, 10 warn, 20 alert (drift, data quality or performance beyond the params.yaml `monitor:`
thresholds), 3 not enough data to judge (fewer than `monitor.min_rows` rows), 2 bad input or configuration
(nothing is written then). Reports: reports/drift.json, reports/drift.md, plots in reports/drift/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.core import artifact, paths
from model.core.contract import Contract, load_contract
from model.core.errors import LighthouseError
from model.core.params import load_params
from model.monitor.profile import ReferenceProfile, load_profile
from model.monitor.report import EXIT_BAD_INPUT, Scorer, evaluate_window, write_reports
from model.monitor.window import attach_labels, parse_time, read_batch, read_logs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model.monitor", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--logs", type=Path, help="inference log directory (JSON lines from the server)")
    source.add_argument("--batch", type=Path, help="a CSV, Parquet or JSON-lines file of feature rows")
    parser.add_argument("--since", help="logs: first moment, ISO 8601 or a duration ago (24h, 7d)")
    parser.add_argument("--until", help="logs: end of the window (exclusive), same formats")
    parser.add_argument("--labels", type=Path, help="delayed labels: request_id[, index] and the target column")
    parser.add_argument(
        "--reference",
        type=Path,
        default=paths.REFERENCE_PROFILE,
        help="reference profile (models/reference.json) or a training data file (.parquet/.csv) to profile",
    )
    parser.add_argument("--model-dir", type=Path, default=paths.MODEL_DIR, help="scores batches without scores")
    parser.add_argument("--metrics", type=Path, default=paths.METRICS, help="held-out metrics, with --reference DATA")
    parser.add_argument("--contract", type=Path, default=paths.CONTRACT)
    parser.add_argument("--params", type=Path, default=paths.PARAMS)
    parser.add_argument("--out", type=Path, default=paths.DRIFT_REPORT, help="the JSON report")
    parser.add_argument("--markdown", type=Path, default=paths.DRIFT_MARKDOWN, help="the readable report")
    parser.add_argument("--plots", type=Path, default=paths.DRIFT_PLOTS, help="directory for the PNG plots")
    parser.add_argument("--no-plots", action="store_true", help="skip the plots (no matplotlib needed)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        contract = load_contract(args.contract)
        params = load_params(args.params)
        reference = _reference(args.reference, contract, args)
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
        window = read_logs(args.logs, since, until) if args.logs is not None else read_batch(args.batch, contract)
        if args.labels is not None:
            window = attach_labels(window, args.labels, contract)
        scorer = _scorer(args.model_dir) if window.probabilities is None else None
        verdict = evaluate_window(
            window, reference, contract, params.monitor, reference_source=str(args.reference), scorer=scorer
        )
    except LighthouseError as exc:
        print(f"monitor: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    write_reports(verdict, args.out, args.markdown, None if args.no_plots else args.plots)
    report = verdict.report
    print(f"monitor: {report['status']} ({report['window']['rows']} rows from {report['window']['source']})")
    for line in report["findings"] + [f"note: {n}" for n in report["notes"]]:
        print(f"  - {line}")
    print(f"monitor: wrote {args.out} and {args.markdown}; exit code {verdict.exit_code}")
    return verdict.exit_code


def _reference(path: Path, contract: Contract, args: argparse.Namespace) -> ReferenceProfile:
    if path.suffix == ".json":
        return load_profile(path, contract)
    from model.monitor.reference import profile_from_data

    return profile_from_data(path, contract, load_params(args.params), args.model_dir, args.metrics)


def _scorer(model_dir: Path) -> Scorer | None:
    """The verified model, when the model directory holds one; batches are then scored for prediction drift."""
    if not (model_dir / artifact.RECORD_NAME).exists():
        return None
    model, record = artifact.load_verified(model_dir)
    return Scorer(model, record.sha256)


if __name__ == "__main__":
    sys.exit(main())
