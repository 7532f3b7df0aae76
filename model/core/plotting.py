"""Matplotlib without a display, saving PNGs atomically and byte-for-byte reproducibly (no version stamp)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from model.core.io import atomic_path


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (CI runners and servers have no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(figure: Any, target: Path) -> None:
    """Write `figure` to `target` and close it; the PNG carries no software/version metadata."""
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    pyplot().close(figure)


def slug(name: str) -> str:
    """A file-name-safe form of a column or group name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "unnamed"


def clear_pngs(directory: Path) -> None:
    """Remove stale PNGs so a renamed attribute or feature leaves no orphan plot behind."""
    if directory.is_dir():
        for path in directory.glob("*.png"):
            path.unlink()
