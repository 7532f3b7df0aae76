"""The `monitor_reference` stage: summarise the training split, the model's scores on it and its held-out metrics
into models/reference.json, the reference `python -m model.monitor` compares every window with."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from model.core import artifact, paths
from model.core.contract import Contract, load_contract
from model.core.dataset import features, typed
from model.core.errors import LighthouseError
from model.core.io import read_json
from model.core.params import Params, load_params
from model.monitor.profile import ReferenceProfile, build_profile, save_profile


def profile_from_data(
    data_path: Path, contract: Contract, params: Params, model_dir: Path, metrics_path: Path
) -> ReferenceProfile:
    """Profile a training data file (Parquet or CSV that passed validation) with the verified model's scores."""
    model, record = artifact.load_verified(model_dir)
    frame = pd.read_parquet(data_path) if data_path.suffix == ".parquet" else pd.read_csv(data_path)
    frame = typed(frame, contract)
    probabilities = model.predict_proba(features(frame, contract))[:, 1]
    metrics = read_json(metrics_path) if metrics_path.exists() else {}
    return build_profile(
        frame,
        contract,
        bins=params.monitor.reference.bins,
        points=params.monitor.reference.points,
        probabilities=probabilities,
        metrics={k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
        threshold=params.evaluate.threshold,
        source=str(data_path),
        model_sha256=record.sha256,
        data_hash=record.data_hash,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.monitor.reference", description=__doc__)
    parser.add_argument("--data", type=Path, default=paths.TRAIN_SPLIT)
    parser.add_argument("--model-dir", type=Path, default=paths.MODEL_DIR)
    parser.add_argument("--metrics", type=Path, default=paths.METRICS)
    parser.add_argument("--out", type=Path, default=paths.REFERENCE_PROFILE)
    args = parser.parse_args(argv)
    try:
        contract = load_contract(paths.CONTRACT)
        params = load_params(paths.PARAMS)
        profile = profile_from_data(args.data, contract, params, args.model_dir, args.metrics)
    except LighthouseError as exc:
        print(f"monitor_reference: {exc}", file=sys.stderr)
        return 2
    save_profile(args.out, profile)
    print(f"monitor_reference: profiled {profile.rows} rows of {args.data} into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
