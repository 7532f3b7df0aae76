"""The `gates` stage: run the gate tests (tests/gates/) with pytest on a project root's pipeline outputs.

Writes reports/gates.json (every gate's name, value, threshold, verdict, blocking or advisory) and
reports/gates.xml (JUnit). Exits 1 naming each failing blocking gate and its numbers, 2 when the gates could not
run (bad params, pytest error), 0 otherwise; advisory gates never change the exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ci.gate_plan import build_plan
from ci.gate_plugin import ROOT_ENV
from ci.outputs import PipelineOutputs
from model.core import paths
from model.core.errors import LighthouseError
from model.core.io import read_json

#: The gate tests ship with the project, beside the ci package.
GATE_TESTS = Path(__file__).resolve().parents[1] / "tests" / "gates"


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def run(root: Path, quiet: bool = False) -> int:
    """Run every gate against `root`; the exit code as documented above."""
    root = root.resolve()
    try:
        outputs = PipelineOutputs(root)
        plan = build_plan(outputs.params, outputs.contract, root / paths.PARAMS)
    except LighthouseError as exc:
        print(f"gates: {exc}", file=sys.stderr)
        return 2
    if not GATE_TESTS.is_dir():
        print(f"gates: {GATE_TESTS}: the gate tests are missing", file=sys.stderr)
        return 2
    report_path = root / paths.GATES_REPORT
    report_path.unlink(missing_ok=True)  # a stale verdict must never survive a run that failed to write one
    args = [
        str(GATE_TESTS),
        f"--junitxml={root / paths.GATES_JUNIT}",
        "-p",
        "no:cacheprovider",
        "--no-header",
        "-q" if not quiet else "-qq",
        "-rfE",
    ]
    # No third-party pytest plugins: the gates need none, and each would slow every pipeline run.
    with _environment(ROOT_ENV, str(root)), _environment("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1"):
        code = pytest.main(args)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not report_path.exists():
        print(f"gates: pytest could not run the gates (exit code {int(code)})", file=sys.stderr)
        return 2
    report = read_json(report_path)
    print(verdict_lines(report, len(plan)))
    if not report["passed"]:
        print(blocking_message(report), file=sys.stderr)
        return 1
    return 0


def verdict_lines(report: dict[str, Any], planned: int) -> str:
    counts = report["counts"]
    verdict = "PASSED" if report["passed"] else "BLOCKED"
    parts = [f"{counts[k]} {k}" for k in ("pass", "fail", "warn", "error") if counts[k]]
    lines = [f"gates: {verdict}: {planned} gates, " + ", ".join(parts) + f" (see {paths.GATES_REPORT})"]
    gates = report["gates"]
    lines += [
        f"gates: advisory {g['name']}: {g['detail']}" for g in gates if not g["blocking"] and g["verdict"] != "pass"
    ]
    return "\n".join(lines)


def blocking_message(report: dict[str, Any]) -> str:
    """One line per failing blocking gate: its name, verdict and numbers."""
    gates = report["gates"]
    lines = ["gates: a blocking gate failed, so the model is not registered:"]
    for gate in gates:
        if gate["blocking"] and gate["verdict"] in ("fail", "error"):
            numbers = ""
            if gate["value"] is not None and gate["threshold"] is not None:
                numbers = f" [value {gate['value']} must be {gate['comparison']} {gate['threshold']}]"
            lines.append(f"  - {gate['name']} ({gate['verdict']}): {gate['detail']}{numbers}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.gates", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(), help="project root whose outputs the gates read")
    parser.add_argument("--quiet", action="store_true", help="less pytest output")
    args = parser.parse_args(argv)
    return run(args.root, quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
