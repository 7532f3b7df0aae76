"""Where a model came from: git commit, data hash (DVC-compatible md5), contract hash."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

#: Set by the training image (its GIT_SHA build argument): the image holds a snapshot of the sources, not a repo.
GIT_SHA_VAR = "LIGHTHOUSE_GIT_SHA"


def git_sha(cwd: Path | None = None) -> str:
    """HEAD's commit, suffixed `-dirty` when tracked files differ. Outside a git repository: LIGHTHOUSE_GIT_SHA
    when it is a full commit SHA (the commit a training image was built from), else `unknown`."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        baked = os.environ.get(GIT_SHA_VAR, "")
        return baked if re.fullmatch(r"[0-9a-f]{40}", baked) else "unknown"
    return f"{sha}-dirty" if dirty else sha


def md5_of(path: Path) -> str:
    """The md5 DVC 3 records for a file output, so the hash matches `dvc.lock`."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes (model artifact, contract): what records and the server compare."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
