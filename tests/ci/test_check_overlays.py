"""`python -m ci.check_overlays`: overlays render and pin what their release records say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ci import promote
from tests.ci.promote_fixtures import (
    ACTIONS_VARS,
    OVERLAYS,
    REPOSITORY,
    GitOpsRepo,
    clean_env,
    digest,
    facts_args,
    write_facts,
)
from tests.conftest import require_binary


@pytest.fixture(autouse=True)
def _no_actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ACTIONS_VARS:
        monkeypatch.delenv(name, raising=False)


def check(clone: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ci.check_overlays", "--overlays", OVERLAYS],
        cwd=clone,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
        check=False,
    )


@pytest.fixture
def promoted(tmp_path: Path) -> Path:
    require_binary("kubectl")
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("alice")
    facts = write_facts(tmp_path / "facts", model_sha256="ab" * 32)
    image = f"{REPOSITORY}@{digest('one')}"
    assert promote.main(["--env", "staging", "--image", image, *facts_args(facts), "--root", str(clone)]) == 0
    return clone


def test_promoted_and_unpromoted_overlays_pass(promoted: Path) -> None:
    proc = check(promoted)
    assert proc.returncode == 0, proc.stderr
    assert f"{OVERLAYS}/staging: ok" in proc.stdout
    assert "production: no release.json" in proc.stderr  # a warning, not a failure


def test_a_hand_edited_digest_is_caught(promoted: Path) -> None:
    kustomization = promoted / OVERLAYS / "staging/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace(digest("one"), digest("sneaky")))
    proc = check(promoted)
    assert proc.returncode == 1
    assert f"pins {REPOSITORY}@{digest('sneaky')}" in proc.stderr
    assert "promote with `python -m ci.promote`" in proc.stderr


def test_a_record_in_the_wrong_overlay_is_caught(promoted: Path) -> None:
    record = (promoted / OVERLAYS / "staging/release.json").read_text()
    (promoted / OVERLAYS / "production/release.json").write_text(record)
    proc = check(promoted)
    assert proc.returncode == 1
    assert "environment: 'staging' but the overlay is 'production'" in proc.stderr


def test_an_overlay_that_does_not_render_fails(promoted: Path) -> None:
    kustomization = promoted / OVERLAYS / "production/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("../../base", "../../nowhere"))
    proc = check(promoted)
    assert proc.returncode == 1
    assert "kubectl kustomize` failed" in proc.stderr


def test_the_make_target_the_workflow_calls(promoted: Path) -> None:
    """`make overlays-check` (what the pr workflow runs) with the environment already set up."""
    root = Path(__file__).resolve().parents[2]
    overlays = promoted / OVERLAYS
    ok = subprocess.run(
        ["make", "-s", "-o", "setup", "overlays-check", f"OVERLAYS={overlays}", f"PY={sys.executable}"],
        cwd=root, capture_output=True, text=True, env=clean_env(), timeout=120, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert f"{overlays}/staging: ok" in ok.stdout
    kustomization = overlays / "staging/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace(digest("one"), digest("sneaky")))
    failed = subprocess.run(
        ["make", "-s", "-o", "setup", "overlays-check", f"OVERLAYS={overlays}", f"PY={sys.executable}"],
        cwd=root, capture_output=True, text=True, env=clean_env(), timeout=120, check=False,
    )  # fmt: skip
    assert failed.returncode != 0
