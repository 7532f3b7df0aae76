"""Live traffic for the canary analyses of the end-to-end run: held-out rows POSTed to `/predict` for a while.

    python -m ci.e2e.traffic instances OUT.json          # held-out rows as request instances (pipeline outputs)
    python -m ci.e2e.traffic send URL INSTANCES.json --seconds 600

`send` uses the standard library only: it runs in a pod of the model-server image inside the cluster (a
port-forward would reach one pod, and the canary must get its share through the Service).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def instances(root: Path) -> list[dict[str, Any]]:
    """The held-out split's feature columns as JSON-ready rows (missing values as null)."""
    import pandas as pd

    from model.core import paths
    from model.core.contract import load_contract
    from model.core.dataset import features

    contract = load_contract(root / paths.CONTRACT)
    frame = features(pd.read_parquet(root / paths.TEST_SPLIT), contract)
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


def send(
    url: str, rows: Sequence[dict[str, Any]], seconds: float, batch: int = 10, pause: float = 0.05
) -> dict[str, int]:
    """POST batches of `rows` round-robin to `url`/predict until `seconds` pass; count answers by outcome."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"traffic: expected an http(s) URL, got {url!r}")
    counts = {"requests": 0, "predictions": 0, "errors": 0}
    deadline = time.monotonic() + seconds
    cycle = itertools.cycle(range(0, len(rows), batch))
    while time.monotonic() < deadline:
        start = next(cycle)
        body = json.dumps({"instances": list(rows[start : start + batch])}).encode()
        request = urllib.request.Request(  # noqa: S310  http(s), checked above
            f"{url.rstrip('/')}/predict", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        counts["requests"] += 1
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  http(s), checked above
                counts["predictions"] += len(json.loads(response.read())["predictions"])
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            counts["errors"] += 1
        time.sleep(pause)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.e2e.traffic", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    extract = sub.add_parser("instances", help="write the held-out rows as instances")
    extract.add_argument("out", type=Path)
    extract.add_argument("--root", type=Path, default=Path.cwd())
    post = sub.add_parser("send", help="POST them to a server for a while")
    post.add_argument("url")
    post.add_argument("instances", type=Path)
    post.add_argument("--seconds", type=float, default=600.0)
    post.add_argument("--batch", type=int, default=10)
    args = parser.parse_args(argv)
    if args.command == "instances":
        rows = instances(args.root)
        args.out.write_text(json.dumps(rows), encoding="utf-8")
        print(f"traffic: {len(rows)} instances -> {args.out}")
        return 0
    counts = send(args.url, json.loads(args.instances.read_text(encoding="utf-8")), args.seconds, args.batch)
    print(f"traffic: {json.dumps(counts)}", flush=True)
    return 0 if counts["predictions"] else 1


if __name__ == "__main__":
    sys.exit(main())
