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
from typing import Any

import yaml

from ci import overlay
from ci.release_record import RECORD_NAME, read
from model.core.errors import LighthouseError


def check_overlay(path: Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) for one overlay directory."""
    try:
        rendered = overlay.render(path)
    except LighthouseError as exc:
        return [str(exc)], []
    return check_rendered_overlay(path, rendered)


def check_rendered_overlay(path: Path, rendered: str | None) -> tuple[list[str], list[str]]:
    """(problems, warnings) for an overlay already rendered (None: kubectl is missing, so the file checks only)."""
    problems: list[str] = []
    warnings: list[str] = []
    kustomization = overlay.kustomization_path(path)
    record_path = path / RECORD_NAME
    try:
        text = kustomization.read_text(encoding="utf-8")
        unreleased = overlay.unreleased(text, str(kustomization))
    except (OSError, LighthouseError) as exc:
        return [f"{kustomization}: {exc}"], warnings
    if not record_path.exists():
        warnings.append(f"{path}: no {RECORD_NAME}; nothing has been promoted here yet")
        if rendered is None and not unreleased:
            problems.append(
                f"{kustomization}: no release yet, but it does not list ../../{overlay.UNRELEASED_COMPONENT}: its "
                "first sync would run an image nobody has built"
            )
        if rendered is not None:
            problems += [
                f"{path}: renders {where} running {image!r} before any release; only a promotion may add a workload"
                for where, image in rendered_images(rendered)
            ]
        return problems, warnings
    try:
        record = read(record_path)
        pinned = overlay.pinned_image(text, str(kustomization))
    except LighthouseError as exc:
        return [str(exc)], warnings
    if record.environment != path.name:
        problems.append(f"{record_path}: environment: {record.environment!r} but the overlay is {path.name!r}")
    if unreleased:
        problems.append(
            f"{kustomization}: lists {overlay.UNRELEASED_COMPONENT} beside {record_path}: the release would run nothing"
        )
    if pinned.reference != record.image.reference:
        problems.append(
            f"{kustomization}: images: pins {pinned.reference or 'no digest'} but {record_path} records "
            f"{record.image.reference}; promote with `python -m ci.promote` instead of editing by hand"
        )
    if rendered is not None:
        if record.image.reference not in rendered:
            problems.append(f"{path}: rendered manifests do not run {record.image.reference}")
        problems += [
            f"{path}: {where} runs {image!r}, not pinned by digest like the release"
            for where, image in rendered_images(rendered)
            if "@sha256:" not in image
        ]
    return problems, warnings


def rendered_images(rendered: str) -> list[tuple[str, str]]:
    """(`Kind/name`, image) of every container and init container in the rendered documents."""
    found: list[tuple[str, str]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("containers", "initContainers") and isinstance(value, list):
                    found.extend((where, str(c["image"])) for c in value if isinstance(c, dict) and "image" in c)
                else:
                    walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for document in yaml.safe_load_all(rendered):
        if isinstance(document, dict):
            walk(document, f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}")
    return found


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
