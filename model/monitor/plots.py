"""The report's pictures (PNG, matplotlib's Agg backend, no display needed): PSI per distribution against the
thresholds, and reference-versus-window shares per bin for each feature and the predicted score."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from model.core.io import atomic_path
from model.monitor.drift import Distribution

COLOURS = {"ok": "#4c9a2a", "warn": "#e0a100", "alert": "#c62828"}


def write_plots(
    features: list[Distribution], prediction: Distribution | None, thresholds: dict[str, Any], directory: Path
) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    distributions = [*features, *([prediction] if prediction else [])]
    written: dict[str, Path] = {}

    fig, ax = plt.subplots(figsize=(7, 0.45 * len(distributions) + 1.2))
    names = [d.name for d in distributions]
    ax.barh(names, [d.psi for d in distributions], color=[COLOURS[d.status] for d in distributions])
    for level in ("warn", "alert"):
        limit = thresholds[f"psi_{level}"]
        ax.axvline(limit, color=COLOURS[level], linestyle="--", label=f"{level} {limit}")
    ax.invert_yaxis()
    ax.set_xlabel("PSI against the training reference")
    ax.legend(loc="lower right", fontsize="small")
    written["PSI per feature"] = _save(fig, directory / "psi.png")
    plt.close(fig)

    columns = 3
    rows = math.ceil(len(distributions) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    for ax, d in zip(axes.flat, distributions, strict=False):
        positions = range(len(d.bins))
        ax.bar([p - 0.2 for p in positions], d.reference, width=0.4, label="reference", color="#9e9e9e")
        ax.bar([p + 0.2 for p in positions], d.window, width=0.4, label="window", color=COLOURS[d.status])
        ax.set_xticks(list(positions), d.bins, rotation=60, ha="right", fontsize="x-small")
        ax.set_title(f"{d.name} (PSI {d.psi:.3f})", fontsize="small")
        ax.set_ylabel("share", fontsize="x-small")
    for ax in list(axes.flat)[len(distributions) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize="x-small")
    fig.tight_layout()
    written["Distributions: reference vs window"] = _save(fig, directory / "distributions.png")
    plt.close(fig)
    return written


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
    return path
