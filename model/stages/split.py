"""The `split` stage: a stratified train/test split of the validated data, seeded from params.yaml."""

from __future__ import annotations

import sys

import pandas as pd
from sklearn.model_selection import train_test_split

from model.core import paths
from model.core.contract import load_contract
from model.core.dataset import labels, typed
from model.core.errors import LighthouseError
from model.core.io import atomic_path
from model.core.params import load_params


def main() -> int:
    try:
        contract = load_contract(paths.CONTRACT)
        params = load_params(paths.PARAMS).split
    except LighthouseError as exc:
        print(f"split: {exc}", file=sys.stderr)
        return 2
    frame = typed(pd.read_csv(paths.RAW_DATA), contract)
    train, test = train_test_split(
        frame, test_size=params.test_size, random_state=params.seed, stratify=labels(frame, contract)
    )
    for part, target in ((train, paths.TRAIN_SPLIT), (test, paths.TEST_SPLIT)):
        with atomic_path(target) as tmp:
            part.reset_index(drop=True).to_parquet(tmp, index=False)
    print(f"split: {len(train)} train rows, {len(test)} test rows (seed {params.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
