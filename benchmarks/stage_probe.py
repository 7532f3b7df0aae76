"""Run one pipeline stage's command and append its wall time and peak RSS to a JSON-lines file.

    python -m benchmarks.stage_probe OUT.jsonl STAGE -- python -m model.stages.train

The scaling benchmark (benchmarks/scaling.py) prefixes every `cmd` of its copy of dvc.yaml with this. Peak RSS is
`getrusage(RUSAGE_CHILDREN).ru_maxrss`: the largest resident set of the stage's process tree, as the kernel saw it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    out, stage, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit(__doc__)
    start = time.perf_counter()
    code = subprocess.call(command)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    record = {"stage": stage, "seconds": round(seconds, 2), "peak_rss_mb": round(peak_kib / 1024, 1), "exit": code}
    with Path(out).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
