"""Overlays with a release record pin the image by digest, the one in the record; overlays without one may
follow a tag. Shown both ways on a copy of k8s/, edited the way the promotion tool edits it (ruamel, comments
kept)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.k8s import invariants
from tests.k8s.manifests import ENVIRONMENTS, K8S_DIR, OVERLAYS_DIR, Manifest, only, render

REPOSITORY = "ghcr.io/example/mlops-lighthouse"
DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32


def round_trip_yaml() -> YAML:
    """The ruamel settings that reproduce the overlays' layout byte for byte (what ci.promote should use)."""
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def release_record(environment: str, digest: str = DIGEST) -> dict[str, object]:
    """A record shaped as docs/release-record.md describes."""
    return {
        "schema_version": 1,
        "environment": environment,
        "git_sha": "0" * 40,
        "model": {"name": "lighthouse", "version": None, "mlflow_run_id": None, "sha256": "1" * 64},
        "data": {"dvc_hash": "2" * 32},
        "image": {"repository": REPOSITORY, "digest": digest},
        "metrics": {"roc_auc": 0.8},
        "fairness": {},
        "gates": {"passed": True, "failed": []},
    }


def write_release(overlay: Path, record: dict[str, object]) -> None:
    (overlay / "release.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def pin_digest(overlay: Path, digest: str) -> str:
    """Set images[].digest (and drop newTag) as the promotion tool does; return the new file text."""
    yaml = round_trip_yaml()
    path = overlay / "kustomization.yaml"
    kustomization = yaml.load(path)
    (entry,) = [image for image in kustomization["images"] if image["name"] == REPOSITORY]
    entry["newName"] = REPOSITORY
    entry["digest"] = digest
    entry.pop("newTag", None)
    buffer = io.StringIO()
    yaml.dump(kustomization, buffer)
    path.write_text(buffer.getvalue())
    return buffer.getvalue()


@pytest.fixture
def staging_copy(tmp_path: Path) -> Path:
    """A copy of k8s/ whose staging overlay runs its workload (the `unreleased` component dropped), not yet pinned."""
    from ci.overlay import drop_unreleased

    shutil.copytree(K8S_DIR, tmp_path / "k8s")
    overlay = tmp_path / "k8s" / "overlays" / "staging"
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(drop_unreleased(kustomization.read_text(), str(kustomization)))
    return overlay


def _image(manifests: list[Manifest]) -> str:
    (container,) = only(manifests, "Rollout")["spec"]["template"]["spec"]["containers"]
    image: str = container["image"]
    return image


def test_repository_overlays_satisfy_the_pin_invariant(rendered: dict[str, list[Manifest]], environment: str) -> None:
    overlay = OVERLAYS_DIR / environment
    assert invariants.image_pin_problems(overlay, rendered[environment]) == []
    if not (overlay / "release.json").exists():
        assert invariants.parse_image(_image(rendered[environment]))["name"] == REPOSITORY


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_overlay_image_entries_match_the_base_image(kubectl: str, env: str) -> None:
    """An overlay `images` entry whose name the base does not render would silently pin nothing."""
    base_image = invariants.parse_image(_image(render(K8S_DIR / "base", kubectl)))["name"]
    entries = round_trip_yaml().load(OVERLAYS_DIR / env / "kustomization.yaml")["images"]
    assert [entry["name"] for entry in entries] == [base_image]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_overlay_kustomization_survives_a_round_trip_unchanged(env: str) -> None:
    path = OVERLAYS_DIR / env / "kustomization.yaml"
    yaml = round_trip_yaml()
    buffer = io.StringIO()
    yaml.dump(yaml.load(path), buffer)
    assert buffer.getvalue() == path.read_text()


def test_a_release_pinned_by_digest_passes(staging_copy: Path, kubectl: str) -> None:
    original = (staging_copy / "kustomization.yaml").read_text()
    write_release(staging_copy, release_record("staging"))
    text = pin_digest(staging_copy, DIGEST)
    manifests = render(staging_copy, kubectl)
    assert _image(manifests) == f"{REPOSITORY}@{DIGEST}"
    assert invariants.image_pin_problems(staging_copy, manifests) == []
    # The edit touched only the image entry: every comment line is still there.
    assert [line for line in original.splitlines() if line.lstrip().startswith("#")] == [
        line for line in text.splitlines() if line.lstrip().startswith("#")
    ]
    # The other environment is untouched and still follows its tag.
    production = staging_copy.parent / "production"
    assert invariants.image_pin_problems(production, render(production, kubectl)) == []


def test_a_release_left_on_a_tag_fails(staging_copy: Path, kubectl: str) -> None:
    write_release(staging_copy, release_record("staging"))
    problems = invariants.image_pin_problems(staging_copy, render(staging_copy, kubectl))
    assert len(problems) == 1
    assert "release.json" in problems[0]
    assert DIGEST in problems[0]
    assert f"runs '{REPOSITORY}'" in problems[0]  # the bare name: no tag, no digest


def test_a_digest_other_than_the_released_one_fails(staging_copy: Path, kubectl: str) -> None:
    write_release(staging_copy, release_record("staging", digest=DIGEST))
    pin_digest(staging_copy, OTHER_DIGEST)
    problems = invariants.image_pin_problems(staging_copy, render(staging_copy, kubectl))
    assert len(problems) == 1
    assert OTHER_DIGEST in problems[0]


def test_an_invalid_digest_in_the_record_is_named(staging_copy: Path, kubectl: str) -> None:
    write_release(staging_copy, release_record("staging", digest="latest"))
    (problem,) = invariants.image_pin_problems(staging_copy, render(staging_copy, kubectl))
    assert "release.json" in problem
    assert "image.digest" in problem
    assert "'latest'" in problem
