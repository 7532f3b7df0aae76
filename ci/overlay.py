"""A Kustomize overlay: pin its image by digest without disturbing the file, and prove it still renders.

The kustomization is edited with ruamel.yaml's round-trip mode so comments, key order and blank lines stay where
a person put them; the indentation is detected by finding the settings that reproduce the file byte for byte.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

from model.core.errors import LighthouseError

KUSTOMIZATION = "kustomization.yaml"
RENDER_TIMEOUT_S = 120
#: The component an overlay lists until its first release: it removes every workload, so a fork's first sync runs
#: no pod whose image does not exist yet (k8s/components/unreleased). The first promotion drops the line.
UNRELEASED_COMPONENT = "components/unreleased"


class OverlayError(LighthouseError):
    """The overlay is missing, unreadable, has no image entry to pin, or does not render."""


@dataclass(frozen=True)
class PinnedImage:
    """What an overlay's `images:` entry says: the image it replaces and the repository/digest it pins."""

    name: str
    repository: str
    digest: str | None

    @property
    def reference(self) -> str | None:
        return f"{self.repository}@{self.digest}" if self.digest else None


def kustomization_path(overlay: Path) -> Path:
    return overlay / KUSTOMIZATION


def pinned_image(text: str, source: str, image_name: str | None = None) -> PinnedImage:
    """The image entry of a kustomization (the one named `image_name`, or the only one)."""
    entry = _image_entry(_load(text, source)[0], source, image_name)
    name = str(entry["name"])
    digest = entry.get("digest")
    repository = str(entry.get("newName") or name)
    return PinnedImage(name=name, repository=repository, digest=None if digest is None else str(digest))


def pin_image(text: str, source: str, repository: str, digest: str, image_name: str | None = None) -> str:
    """Return the kustomization text with the image entry set to `repository@digest` (and no tag)."""
    doc, yaml = _load(text, source)
    entry = _image_entry(doc, source, image_name)
    if "newName" in entry or repository != entry["name"]:
        _set_key(entry, "newName", repository)
    _delete_key(entry, "newTag")  # a tag beside a digest is ambiguous; the digest is what runs
    _set_key(entry, "digest", digest)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def unreleased(text: str, source: str) -> bool:
    """Whether the kustomization still lists the `unreleased` component (nothing has been promoted there)."""
    return _unreleased_index(_load(text, source)[0]) is not None


def drop_unreleased(text: str, source: str) -> str:
    """The kustomization without its `unreleased` component entry (unchanged when it has none)."""
    doc, yaml = _load(text, source)
    index = _unreleased_index(doc)
    if index is None:
        return text
    components = doc["components"]
    del components[index]
    if not components:
        _delete_key(doc, "components")
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _unreleased_index(doc: CommentedMap) -> int | None:
    components = doc.get("components")
    if not isinstance(components, CommentedSeq):
        return None
    for index, entry in enumerate(components):
        if isinstance(entry, str) and entry.rstrip("/").endswith(UNRELEASED_COMPONENT):
            return index
    return None


def render(overlay: Path) -> str | None:
    """`kubectl kustomize` the overlay; None (with a warning) when kubectl is not installed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print(f"warning: kubectl not found; {overlay} was not rendered (install kubectl to check it)", file=sys.stderr)
        return None
    try:
        proc = subprocess.run(
            [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=RENDER_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as exc:
        raise OverlayError(f"{overlay}: `kubectl kustomize` did not finish in {RENDER_TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        raise OverlayError(f"{overlay}: `kubectl kustomize` failed: {proc.stderr.strip()}")
    return proc.stdout


def check_rendered(overlay: Path, rendered: str, reference: str) -> None:
    """The pinned image must reach a container: otherwise the entry's name matches nothing and nothing deploys."""
    if reference not in rendered:
        raise OverlayError(
            f"{overlay}: rendered manifests do not contain image {reference}; the `images:` entry's name matches "
            "no container image in the overlay's resources"
        )


def _load(text: str, source: str) -> tuple[CommentedMap, YAML]:
    yaml = _layout_preserving_yaml(text)
    try:
        doc = yaml.load(text)
    except YAMLError as exc:
        raise OverlayError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(doc, CommentedMap):
        raise OverlayError(f"{source}: expected a mapping at the top level")
    return doc, yaml


def _layout_preserving_yaml(text: str) -> YAML:
    """The round-trip dumper whose indentation reproduces `text` exactly (first match of common layouts)."""
    candidates = [(m, o + d, o) for d in (2, 4) for m in (2, 4) for o in (0, 2, 4)]
    for mapping, sequence, offset in candidates:
        yaml = _yaml(mapping, sequence, offset)
        try:
            out = io.StringIO()
            yaml.dump(yaml.load(text), out)
        except YAMLError:
            break  # invalid YAML: let _load report it
        if out.getvalue() == text:
            return yaml
    print("warning: the kustomization's indentation is unusual; the edit may re-indent it", file=sys.stderr)
    return _yaml(2, 4, 2)


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _image_entry(doc: CommentedMap, source: str, image_name: str | None) -> CommentedMap:
    images = doc.get("images")
    if not isinstance(images, CommentedSeq) or not images:
        raise OverlayError(f"{source}: images: missing or empty; the overlay needs an entry whose digest is pinned")
    entries = [e for e in images if isinstance(e, CommentedMap) and "name" in e]
    if image_name is not None:
        entries = [e for e in entries if e["name"] == image_name]
        if not entries:
            names = [str(e.get("name")) for e in images if isinstance(e, dict)]
            raise OverlayError(f"{source}: images: no entry named {image_name!r} (entries: {names})")
    if len(entries) != 1:
        names = [str(e["name"]) for e in entries]
        raise OverlayError(f"{source}: images: {len(entries)} entries {names}; choose one with --image-name")
    return entries[0]


def _set_key(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set `key`, appending it at the end when new; blank lines/comments after the old last key move below it."""
    if key in mapping:
        mapping[key] = value
        return
    last = list(mapping)[-1] if mapping else None
    tail = _take_trailing_lines(mapping, last) if last is not None else ""
    mapping[key] = value
    _give_trailing_lines(mapping, key, tail)


def _delete_key(mapping: CommentedMap, key: str) -> None:
    """Delete `key`; if it was last, the blank lines/comments after it move to the new last key."""
    if key not in mapping:
        return
    was_last = list(mapping)[-1] == key
    tail = _take_trailing_lines(mapping, key)
    del mapping[key]
    mapping.ca.items.pop(key, None)
    if was_last and mapping:
        _give_trailing_lines(mapping, list(mapping)[-1], tail)


def _take_trailing_lines(mapping: CommentedMap, key: str) -> str:
    """Detach what follows `key`'s line (blank lines, comments on the next node); keep its end-of-line comment."""
    slots = mapping.ca.items.get(key)
    if not slots or len(slots) < 3 or slots[2] is None:
        return ""
    token = slots[2]
    own, newline, tail = str(token.value).partition("\n")
    if not newline:
        return ""
    token.value = own + "\n"
    return tail


def _give_trailing_lines(mapping: CommentedMap, key: str, tail: str) -> None:
    if not tail:
        return
    slots = mapping.ca.items.setdefault(key, [None, None, None, None])
    if slots[2] is None:
        slots[2] = CommentToken("\n" + tail, CommentMark(0), None)
    else:
        slots[2].value = str(slots[2].value) + tail
