"""Pinning an image in a kustomization keeps every other byte of the file."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from ci.overlay import OverlayError, check_rendered, drop_unreleased, pin_image, pinned_image, render, unreleased
from tests.ci.promote_fixtures import BASE_KUSTOMIZATION, DEPLOYMENT, IMAGE_NAME, digest, overlay_kustomization
from tests.conftest import require_binary

REPO = "ghcr.io/acme/lighthouse"


def changed_lines(old: str, new: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_only_the_image_entry_changes_and_comments_stay() -> None:
    old = overlay_kustomization("staging")
    new = pin_image(old, "k.yaml", REPO, digest("a"))
    assert changed_lines(old, new) == [
        f"-    newName: {IMAGE_NAME}   # a fork sets its own GHCR path",
        "-    newTag: latest",
        f"+    newName: {REPO}            # a fork sets its own GHCR path",
        f"+    digest: {digest('a')}",
    ]
    assert "\n\nlabels:" in new  # the blank line that followed the deleted last key survives


def test_re_pinning_changes_one_line_and_is_idempotent() -> None:
    once = pin_image(overlay_kustomization("staging"), "k.yaml", REPO, digest("a"))
    twice = pin_image(once, "k.yaml", REPO, digest("b"))
    assert changed_lines(once, twice) == [f"-    digest: {digest('a')}", f"+    digest: {digest('b')}"]
    assert pin_image(twice, "k.yaml", REPO, digest("b")) == twice


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # dash at the key's column; the entry is not the last of the list; a comment about the next entry
            "images:\n- name: app  # the server\n  newTag: v1\n# the sidecar\n- name: sidecar\n  newTag: v2\n",
            "images:\n- name: app  # the server\n  newName: ghcr.io/acme/app\n  digest: {d}\n# the sidecar\n"
            "- name: sidecar\n  newTag: v2\n",
        ),
        (  # four-space sequences with a wide dash gap
            "kind: Kustomization\nimages:\n    -   name: app\n        newTag: v1\nresources:\n    -   ../base\n",
            "kind: Kustomization\nimages:\n    -   name: app\n        newName: ghcr.io/acme/app\n"
            "        digest: {d}\nresources:\n    -   ../base\n",
        ),
        (  # a blank line and a comment after the entry
            "images:\n    - name: app\n      newTag: v1\n\n# resources\nresources:\n    - ../base\n",
            "images:\n    - name: app\n      newName: ghcr.io/acme/app\n      digest: {d}\n\n# resources\n"
            "resources:\n    - ../base\n",
        ),
    ],
)
def test_other_layouts_are_kept(text: str, expected: str) -> None:
    new = pin_image(text, "k.yaml", "ghcr.io/acme/app", digest("a"), image_name="app")
    assert new == expected.format(d=digest("a"))
    assert pinned_image(new, "k.yaml", "app").reference == f"ghcr.io/acme/app@{digest('a')}"


def test_entry_without_new_name_gains_one_only_when_the_repository_differs() -> None:
    text = "images:\n  - name: ghcr.io/acme/app\n"
    same = pin_image(text, "k.yaml", "ghcr.io/acme/app", digest("a"))
    assert "newName" not in same
    other = pin_image(text, "k.yaml", "ghcr.io/fork/app", digest("a"))
    assert "newName: ghcr.io/fork/app" in other


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("resources: [../base]\n", "images: missing or empty"),
        ("images:\n  - name: a\n  - name: b\n", "choose one with --image-name"),
        ("images: [\n", "not valid YAML"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_bad_kustomizations_are_named(text: str, message: str) -> None:
    with pytest.raises(OverlayError, match=message):
        pin_image(text, "overlays/x/kustomization.yaml", REPO, digest("a"))


def test_unknown_image_name_lists_the_entries() -> None:
    with pytest.raises(OverlayError, match=r"no entry named 'nope' \(entries: \['a'\]\)"):
        pin_image("images:\n  - name: a\n", "k.yaml", REPO, digest("a"), image_name="nope")


def test_render_proves_the_digest_reaches_a_container(tmp_path: Path) -> None:
    require_binary("kubectl")
    (tmp_path / "base").mkdir()
    (tmp_path / "base/kustomization.yaml").write_text(BASE_KUSTOMIZATION)
    (tmp_path / "base/deployment.yaml").write_text(DEPLOYMENT)
    overlay = tmp_path / "overlays/staging"
    overlay.mkdir(parents=True)
    pinned = drop_unreleased(pin_image(overlay_kustomization("staging"), "k.yaml", REPO, digest("a")), "k.yaml")
    (overlay / "kustomization.yaml").write_text(pinned)

    rendered = render(overlay)

    assert rendered is not None
    check_rendered(overlay, rendered, f"{REPO}@{digest('a')}")
    with pytest.raises(OverlayError, match="match"):
        check_rendered(overlay, rendered, f"{REPO}@{digest('b')}")


def test_the_first_release_drops_the_unreleased_component_and_nothing_else() -> None:
    old = overlay_kustomization("staging")
    assert unreleased(old, "k.yaml")
    new = drop_unreleased(old, "k.yaml")
    assert not unreleased(new, "k.yaml")
    assert changed_lines(old, new) == [
        "-",
        "-components:",
        "-  - ../../components/unreleased  # ci.promote drops this line with the first release",
    ]
    assert "../../base   # the shared manifests\n\nimages:" in new  # one blank line between the sections
    assert drop_unreleased(new, "k.yaml") == new  # later releases change nothing there
