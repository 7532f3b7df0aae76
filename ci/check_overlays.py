"""Check every overlay: it renders, and what it pins agrees with its release record.

    python -m ci.check_overlays [--overlays k8s/overlays]

A hand edit that changes a digest without a promotion breaks the audit trail (git says one release, the record
another); this finds it in the PR, before Argo CD deploys it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ci import overlay
from ci.release_record import RECORD_NAME, read
from model.core.errors import LighthouseError


def check_overlay(path: Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) for one overlay directory."""
    problems: list[str] = []
    warnings: list[str] = []
    kustomization = overlay.kustomization_path(path)
    record_path = path / RECORD_NAME
    try:
        rendered = overlay.render(path)
    except LighthouseError as exc:
        return [str(exc)], warnings
    if not record_path.exists():
        warnings.append(f"{path}: no {RECORD_NAME}; nothing has been promoted here yet")
        return problems, warnings
    try:
        record = read(record_path)
        pinned = overlay.pinned_image(kustomization.read_text(encoding="utf-8"), str(kustomization))
    except LighthouseError as exc:
        return [str(exc)], warnings
    if record.environment != path.name:
        problems.append(f"{record_path}: environment: {record.environment!r} but the overlay is {path.name!r}")
    if pinned.reference != record.image.reference:
        problems.append(
            f"{kustomization}: images: pins {pinned.reference or 'no digest'} but {record_path} records "
            f"{record.image.reference}; promote with `python -m ci.promote` instead of editing by hand"
        )
    if rendered is not None and record.image.reference not in rendered:
        problems.append(f"{path}: rendered manifests do not run {record.image.reference}")
    return problems, warnings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ci.check_overlays",
        description="Render every overlay (kubectl kustomize) and check its pinned image against its release.json.",
    )
    parser.add_argument("--overlays", type=Path, default=Path("k8s/overlays"), help="default k8s/overlays")
    args = parser.parse_args(argv)
    overlays = sorted(p.parent for p in args.overlays.glob(f"*/{overlay.KUSTOMIZATION}"))
    if not overlays:
        print(f"check_overlays: no overlays under {args.overlays}", file=sys.stderr)
        return 1
    failed = False
    for path in overlays:
        problems, warnings = check_overlay(path)
        for line in warnings:
            print(f"warning: {line}", file=sys.stderr)
        for line in problems:
            print(f"check_overlays: {line}", file=sys.stderr)
        failed = failed or bool(problems)
        print(f"check_overlays: {path}: {'FAILED' if problems else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
