"""Schemathesis, driven by the OpenAPI document the server serves, finds no 5xx and no broken promise.

Every check runs: no server error, status codes and bodies as documented, invalid data rejected, valid data
accepted, 405s with an Allow header. Bounded: a few dozen examples per operation, a few seconds in all.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.model.serve.helpers import ROOT, ServerProcess

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 40


def test_fuzzing_from_the_served_openapi_finds_nothing(server: ServerProcess, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(ROOT / ".venv/bin/schemathesis"),
            "--no-color",
            "--config-file",
            str(CONFIG),
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--output-truncate",
            "true",
        ],
        cwd=tmp_path,  # its hypothesis database and reports stay out of the repository
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", result.stdout)
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert selected, result.stdout[-3000:]
    assert tested, result.stdout[-3000:]
    assert tested.group(1) == selected.group(1) == selected.group(2)  # every operation exercised, none skipped
    assert server.process.poll() is None
    server_errors = [line for line in server.logs() if line.get("status", 0) >= 500 or line["level"] == "error"]
    assert server_errors == []
