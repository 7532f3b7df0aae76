"""`make help` lists every documented target (`target: ... ## what it does`), whatever characters its name holds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parents[1]
#: Any target name (letters, digits, dots, dashes, underscores...), not a variable assignment (`X := ...`).
DOCUMENTED = re.compile(r"^([^\s:#=]+):(?!=)[^#\n]*## ", re.MULTILINE)


def test_make_help_lists_every_documented_target() -> None:
    makefiles = [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))]
    documented = {name for path in makefiles for name in DOCUMENTED.findall(path.read_text(encoding="utf-8"))}
    assert {"k8s-render", "k8s-check", "setup", "serve"} <= documented  # names with digits among them
    result = subprocess.run(
        [require_binary("make"), "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert documented - listed == set(), "documented targets that `make help` leaves out"
