"""Forged staging releases never reach production, and promotions write only where Argo CD reads.

Each forgery is made the way a person with push access would make it: edit `release.json` (and the digest beside
it, so the overlay still agrees with itself), commit, push. Production must then refuse, change nothing, and say
which commit it rejected and why. Real git throughout: a bare origin and clones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ci import overlay_root, promote
from ci.gitrepo import Git
from tests.ci.promote_fixtures import (
    ACTIONS_VARS,
    OVERLAYS,
    REPOSITORY,
    GitOpsRepo,
    digest,
    facts_args,
    git,
    run_cli,
    write_facts,
)
from tests.conftest import require_binary

STAGING = f"{OVERLAYS}/staging"
PRODUCTION = f"{OVERLAYS}/production"
MALLORY = "mallory@example.test"


@pytest.fixture(autouse=True)
def _no_actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ACTIONS_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def staged(tmp_path: Path) -> tuple[GitOpsRepo, Path]:
    """Origin with release `one` promoted to staging by the promotion identity."""
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    facts = write_facts(tmp_path / "facts", model_sha256="ab" * 32)
    image = f"{REPOSITORY}@{digest('one')}"
    assert promote.main(["--env", "staging", "--image", image, *facts_args(facts), "--root", str(clone)]) == 0
    return repo, clone


def forge(repo: GitOpsRepo, edit: Callable[[dict[str, Any]], None], email: str = MALLORY) -> str:
    """Hand-edit staging's release.json (and pin its digest), commit as `email` and push; return the commit."""
    clone = repo.clone(f"forger-{len(repo.origin_log())}", email=email)
    path = clone / STAGING / "release.json"
    record = json.loads(path.read_text())
    old_digest = record["image"]["digest"]
    edit(record)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    kustomization = clone / STAGING / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace(old_digest, record["image"]["digest"]))
    git(clone, "commit", "--quiet", "-am", "staging: tweak the release record")
    git(clone, "push", "--quiet", "origin", "HEAD:main")
    return git(clone, "rev-parse", "HEAD")


def to_production(clone: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    git(clone, "pull", "--quiet", "--ff-only")
    capsys.readouterr()
    code = promote.main(["--env", "production", "--from-env", "staging", "--root", str(clone)])
    return code, capsys.readouterr().err


def assert_nothing_changed(repo: GitOpsRepo, clone: Path, log: list[str]) -> None:
    assert repo.origin_log() == log
    assert not (clone / PRODUCTION / "release.json").exists()
    assert git(clone, "status", "--porcelain") == ""


FORGERIES: dict[str, Callable[[dict[str, Any]], None]] = {
    "a digest that never deployed": lambda r: r["image"].update(digest=digest("never-built")),
    "a raised roc_auc": lambda r: r["metrics"].update(roc_auc=0.99),
    "a changed model sha": lambda r: r["model"].update(sha256="cd" * 32),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_hand_committed_staging_record_is_refused(
    staged: tuple[GitOpsRepo, Path], capsys: pytest.CaptureFixture[str], forgery: str
) -> None:
    repo, clone = staged
    forged = forge(repo, FORGERIES[forgery])
    log = repo.origin_log()

    code, err = to_production(clone, capsys)

    assert code == promote.EXIT_REFUSED, err
    assert_nothing_changed(repo, clone, log)
    assert "a release must run in staging before production" in err
    assert f"{forged[:12]} was made by {MALLORY}, not a promotion identity" in err


def test_a_forged_record_under_the_promotion_identity_still_lacks_the_trailers(
    staged: tuple[GitOpsRepo, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Local git identities are not authenticated; the trailers and subject are the next line of defence."""
    repo, clone = staged
    forged = forge(repo, FORGERIES["a raised roc_auc"], email=git(clone, "config", "user.email"))
    log = repo.origin_log()
    code, err = to_production(clone, capsys)
    assert code == promote.EXIT_REFUSED
    assert_nothing_changed(repo, clone, log)
    assert f"{forged[:12]} subject 'staging: tweak the release record' is not a staging promotion's" in err
    assert f"{forged[:12]} trailers do not name this release" in err
    # and the real promotion before it does not vouch for the raised metric either
    assert "is not this release record (some field differs)" in err


def test_a_gates_record_that_contradicts_itself_is_refused(
    staged: tuple[GitOpsRepo, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, clone = staged
    forge(repo, lambda r: r["gates"].update(passed=True, failed=["fairness_demographic_parity"]))
    log = repo.origin_log()
    code, err = to_production(clone, capsys)
    assert code == promote.EXIT_REFUSED
    assert_nothing_changed(repo, clone, log)
    assert "passed is true but failed names ['fairness_demographic_parity']" in err


def test_gates_that_contradict_themselves_never_reach_staging(tmp_path: Path) -> None:
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    facts = write_facts(tmp_path / "facts", model_sha256="ab" * 32)
    facts["gates"].write_text(json.dumps({"passed": True, "failed": ["roc_auc_min"]}))
    log = repo.origin_log()
    image = f"{REPOSITORY}@{digest('one')}"
    code = promote.main(["--env", "staging", "--image", image, *facts_args(facts), "--root", str(clone)])
    assert code == promote.EXIT_REFUSED
    assert repo.origin_log() == log


def test_a_promotion_that_arrived_through_a_merge_does_not_vouch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pull request's commits sit behind its merge commit: only main's own first-parent chain counts."""
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    git(clone, "switch", "--quiet", "-c", "feature")
    facts = write_facts(tmp_path / "facts", model_sha256="ab" * 32)
    image = f"{REPOSITORY}@{digest('one')}"
    args = ["--env", "staging", "--image", image, *facts_args(facts), "--root", str(clone), "--no-push"]
    assert promote.main(args) == 0
    git(clone, "switch", "--quiet", "main")
    git(clone, "merge", "--quiet", "--no-ff", "-m", "Merge pull request #1", "feature")
    git(clone, "push", "--quiet", "origin", "main")
    log = repo.origin_log()
    capsys.readouterr()
    code = promote.main(["--env", "production", "--from-env", "staging", "--root", str(clone)])
    err = capsys.readouterr().err
    assert code == promote.EXIT_REFUSED
    assert repo.origin_log() == log
    assert "has 2 parents" in err


def test_a_promotion_commit_that_changes_more_than_its_overlay_does_not_vouch(
    staged: tuple[GitOpsRepo, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, clone = staged
    (clone / "notes.txt").write_text("smuggled along\n")
    git(clone, "commit", "--quiet", "--amend", "--no-edit", "-a")
    git(clone, "push", "--quiet", "--force", "origin", "HEAD:main")
    code, err = to_production(clone, capsys)
    assert code == promote.EXIT_REFUSED
    assert "also changes notes.txt" in err


def test_staging_promoted_by_a_trusted_identity_is_accepted_from_another_clone(
    staged: tuple[GitOpsRepo, Path],
) -> None:
    """The release manager's clone has its own identity and names the one it trusts, as CI does."""
    repo, clone = staged
    manager = repo.clone("manager", email="manager@example.test")
    proc = run_cli(
        ["--env", "production", "--from-env", "staging"],
        cwd=manager,
        LIGHTHOUSE_TRUSTED_IDENTITIES=git(clone, "config", "user.email"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "staging ran this release: promotion commit" in proc.stdout
    assert git(repo.origin, "log", "-1", "--format=%ae", "main") == "manager@example.test"


def test_production_without_a_trusted_staging_promotion_names_the_identity(
    staged: tuple[GitOpsRepo, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = staged
    manager = repo.clone("manager", email="manager@example.test")  # trusts only itself by default
    log = repo.origin_log()
    code = promote.main(["--env", "production", "--from-env", "staging", "--root", str(manager)])
    assert code == promote.EXIT_REFUSED
    assert repo.origin_log() == log
    assert "not a promotion identity (manager@example.test)" in capsys.readouterr().err


# --- where a promotion may write -----------------------------------------------------------------------------------


def evil_overlay(clone: Path) -> None:
    """A committed copy of the staging overlay outside the configured root (no Application syncs it)."""
    evil = clone / "k8s/evil/staging"
    evil.mkdir(parents=True)
    text = (clone / STAGING / "kustomization.yaml").read_text().replace("../../", "../../")
    (evil / "kustomization.yaml").write_text(text)
    git(clone, "add", "-A")
    git(clone, "commit", "--quiet", "-m", "an overlay nobody deploys")
    git(clone, "push", "--quiet", "origin", "HEAD:main")


def stage_args(tmp_path: Path, clone: Path, *extra: str) -> list[str]:
    facts = write_facts(tmp_path / "facts", model_sha256="ab" * 32)
    return [
        "--env",
        "staging",
        "--image",
        f"{REPOSITORY}@{digest('one')}",
        *facts_args(facts),
        "--root",
        str(clone),
        *extra,
    ]


def test_an_overlays_directory_other_than_the_configured_root_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    evil_overlay(clone)
    log = repo.origin_log()
    assert promote.main(stage_args(tmp_path, clone, "--overlays", "k8s/evil")) == promote.EXIT_REFUSED
    assert "only into the configured overlays root 'k8s/overlays'" in capsys.readouterr().err
    assert repo.origin_log() == log
    assert not (clone / "k8s/evil/staging/release.json").exists()
    for escape in ("../outside", "/tmp/overlays", "k8s/overlays/../evil"):
        assert promote.main(stage_args(tmp_path, clone, "--overlays", escape)) == promote.EXIT_REFUSED
    assert repo.origin_log() == log


@pytest.mark.parametrize(
    "link",
    [f"{STAGING}", f"{STAGING}/kustomization.yaml", f"{STAGING}/release.json", OVERLAYS],
)
def test_a_symlink_on_the_way_is_refused_before_any_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], link: str
) -> None:
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    evil_overlay(clone)
    target = clone / link
    if target.exists():
        real = target.with_name(target.name + ".real")
        target.rename(real)
        target.symlink_to(real.name)
    else:
        target.symlink_to("../../evil/staging/kustomization.yaml")  # release.json pointing elsewhere
    git(clone, "add", "-A")
    git(clone, "commit", "--quiet", "-m", "a link")
    git(clone, "push", "--quiet", "origin", "HEAD:main")
    log = repo.origin_log()
    assert promote.main(stage_args(tmp_path, clone)) == promote.EXIT_REFUSED
    assert "is a symbolic link" in capsys.readouterr().err
    assert repo.origin_log() == log


@pytest.mark.parametrize("dirty", [f"{STAGING}/scaling.yaml", "k8s/base/deployment.yaml"])
def test_a_dirty_file_the_render_reads_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dirty: str
) -> None:
    """An uncommitted file would be rendered into the check but not committed: what Argo CD syncs would differ."""
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    path = clone / dirty
    path.write_text((path.read_text() if path.exists() else "") + "# local\n")
    log = repo.origin_log()
    assert promote.main(stage_args(tmp_path, clone)) == promote.EXIT_REFUSED
    err = capsys.readouterr().err
    assert "uncommitted changes" in err
    assert Path(dirty).name in err
    assert repo.origin_log() == log
    assert not (clone / STAGING / "release.json").exists()


def test_the_overlays_root_is_read_from_pyproject(tmp_path: Path) -> None:
    assert overlay_root.configured(tmp_path) == "k8s/overlays"
    (tmp_path / "pyproject.toml").write_text('[tool.lighthouse]\noverlays = "deploy/envs/"\n')
    assert overlay_root.configured(tmp_path) == "deploy/envs"
    (tmp_path / "pyproject.toml").write_text('[tool.lighthouse]\noverlays = "../elsewhere"\n')
    with pytest.raises(overlay_root.OverlayRootError, match="inside the repository"):
        overlay_root.configured(tmp_path)


# --- the first release, and credentials ------------------------------------------------------------------------------


def test_the_first_release_brings_the_workload(tmp_path: Path) -> None:
    """Before it an overlay renders no pod (its image does not exist yet); the promotion commit adds it."""
    kubectl = require_binary("kubectl")
    import subprocess

    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    before = subprocess.run([kubectl, "kustomize", str(clone / STAGING)], capture_output=True, text=True, check=True)
    assert "kind: Deployment" not in before.stdout
    assert promote.main(stage_args(tmp_path, clone)) == 0
    after = subprocess.run([kubectl, "kustomize", str(clone / STAGING)], capture_output=True, text=True, check=True)
    assert f"image: {REPOSITORY}@{digest('one')}" in after.stdout
    assert "components/unreleased" not in (clone / STAGING / "kustomization.yaml").read_text()
    assert "components/unreleased" in (clone / PRODUCTION / "kustomization.yaml").read_text()


def test_the_push_token_reaches_fetch_and_push_only_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token lives in the step's environment, never in .git/config, and only remote commands receive it."""
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    seen = tmp_path / "seen"
    wrapper = tmp_path / "bin/git"
    wrapper.parent.mkdir()
    real_git = next(p for p in os.environ["PATH"].split(os.pathsep) if (Path(p) / "git").is_file())
    wrapper.write_text(f'#!/bin/sh\necho "$1 ${{GIT_CONFIG_VALUE_0:-none}}" >> "{seen}"\nexec "{real_git}/git" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(promote.PUSH_TOKEN_ENV, "s3cr3t-token")
    assert promote.main(stage_args(tmp_path, clone)) == 0
    calls = [line.split(" ", 1) for line in seen.read_text().splitlines()]
    with_header = {command for command, value in calls if value.startswith("AUTHORIZATION: basic ")}
    assert with_header == {"fetch", "push"}
    assert all(value == "none" for command, value in calls if command not in {"fetch", "push"})
    assert "s3cr3t" not in (clone / ".git/config").read_text()
    assert Git(clone, push_token="t").credential_env()["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
