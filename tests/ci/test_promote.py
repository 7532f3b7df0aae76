"""The promotion tool against real git: a bare origin, clones, overlays rendered by kubectl when present."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ci import promote
from tests.ci.promote_fixtures import (
    ACTIONS_VARS,
    IMAGE_NAME,
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


@pytest.fixture(autouse=True)
def _no_actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not write into a real runner's step outputs, nor reach a tracking server."""
    for name in ACTIONS_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> GitOpsRepo:
    return GitOpsRepo(tmp_path)


def to_staging(clone: Path, facts_dir: Path, seed: str, *extra: str, passed: bool = True) -> int:
    facts = write_facts(facts_dir / seed, model_sha256=model_sha(seed), passed=passed)
    image = f"{REPOSITORY}@{digest(seed)}"
    return promote.main(["--env", "staging", "--image", image, *facts_args(facts), "--root", str(clone), *extra])


def model_sha(seed: str) -> str:
    return digest(f"model-{seed}").removeprefix("sha256:")


def snapshot(clone: Path, overlay: str) -> dict[str, bytes | None]:
    """Byte contents of an overlay's two promoted files (None when absent)."""
    files = [clone / overlay / "kustomization.yaml", clone / overlay / "release.json"]
    return {str(p): p.read_bytes() if p.exists() else None for p in files}


def trailers(repo_path: Path, rev: str) -> dict[str, str]:
    message = git(repo_path, "log", "-1", "--format=%B", rev)
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"], input=message, capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(": ", 1) for line in parsed.splitlines())


def test_staging_then_production_lands_in_origin(repo: GitOpsRepo, tmp_path: Path) -> None:
    clone = repo.clone("alice")
    assert to_staging(clone, tmp_path / "facts", "one", "--approver", "alice") == 0

    head = repo.origin_log()[0]
    kustomization = repo.origin_file(head, f"{STAGING}/kustomization.yaml") or ""
    assert f"digest: {digest('one')}" in kustomization
    assert re.search(rf"newName: {REPOSITORY} +# a fork sets its own GHCR path\n", kustomization)  # comment kept
    assert "# ci.promote pins the digest here; do not edit by hand." in kustomization
    assert "newTag" not in kustomization
    record = json.loads(repo.origin_file(head, f"{STAGING}/release.json") or "{}")
    assert record["environment"] == "staging"
    assert record["image"] == {"repository": REPOSITORY, "digest": digest("one")}
    assert record["gates"] == {"passed": True, "failed": []}
    assert record["fairness"] == {"colour": {"demographic_parity_difference": 0.081, "equalized_odds_difference": 0.19}}
    found = trailers(repo.origin, head)
    assert found["Image-Digest"] == digest("one")
    assert found["Model-Version"] == "3"
    assert found["Model-Sha256"] == model_sha("one")
    assert found["Data-Hash"] == "5f2b1c0e9d8a7b6c5d4e3f2a1b0c9d8e"
    assert found["MLflow-Run-Id"] == "0123456789abcdef0123456789abcdef"
    assert found["Approved-By"] == "alice"

    # Another person's clone promotes what staging runs to production, with run details from the environment.
    bob = repo.clone("bob")
    proc = run_cli(
        ["--env", "production", "--from-env", "staging"],
        cwd=bob,
        GITHUB_ACTOR="bob",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY="acme/lighthouse",
        GITHUB_RUN_ID="42",
    )
    assert proc.returncode == 0, proc.stderr
    prod_head = repo.origin_log()[0]
    assert repo.origin_log()[1] == head  # one commit on top, nothing else
    prod_record = json.loads(repo.origin_file(prod_head, f"{PRODUCTION}/release.json") or "{}")
    assert {**prod_record, "environment": "staging"} == record
    assert prod_record["environment"] == "production"
    found = trailers(repo.origin, prod_head)
    assert found["Environment"] == "production"
    assert found["Approved-By"] == "bob"
    assert found["Run-URL"] == "https://github.com/acme/lighthouse/actions/runs/42"
    changed = git(repo.origin, "show", "--name-only", "--format=", prod_head).split()
    assert sorted(changed) == [f"{PRODUCTION}/kustomization.yaml", f"{PRODUCTION}/release.json"]


def test_production_refuses_a_release_never_in_staging(repo: GitOpsRepo, tmp_path: Path) -> None:
    clone = repo.clone("alice")
    assert to_staging(clone, tmp_path / "facts", "one") == 0
    before, log = snapshot(clone, PRODUCTION), repo.origin_log()

    facts = write_facts(tmp_path / "facts/two", model_sha256=model_sha("two"))
    image = f"{REPOSITORY}@{digest('two')}"
    code = promote.main(["--env", "production", "--image", image, *facts_args(facts), "--root", str(clone)])

    assert code == promote.EXIT_REFUSED
    assert snapshot(clone, PRODUCTION) == before
    assert repo.origin_log() == log
    assert git(clone, "status", "--porcelain") == ""


def test_production_refuses_same_image_with_another_model(repo: GitOpsRepo, tmp_path: Path) -> None:
    """Identity is image digest AND model sha256: the same image with a different model record is not staged."""
    clone = repo.clone("alice")
    assert to_staging(clone, tmp_path / "facts", "one") == 0
    facts = write_facts(tmp_path / "facts/other", model_sha256=model_sha("other"))
    image = f"{REPOSITORY}@{digest('one')}"
    code = promote.main(["--env", "production", "--image", image, *facts_args(facts), "--root", str(clone)])
    assert code == promote.EXIT_REFUSED


def test_production_accepts_a_release_staging_ran_earlier(repo: GitOpsRepo, tmp_path: Path) -> None:
    clone = repo.clone("alice")
    assert to_staging(clone, tmp_path / "facts", "one") == 0
    assert to_staging(clone, tmp_path / "facts", "two") == 0  # staging has moved on
    facts = write_facts(tmp_path / "facts/one-again", model_sha256=model_sha("one"))
    image = f"{REPOSITORY}@{digest('one')}"
    code = promote.main(["--env", "production", "--image", image, *facts_args(facts), "--root", str(clone)])
    assert code == 0
    assert json.loads((clone / PRODUCTION / "release.json").read_text())["image"]["digest"] == digest("one")


@pytest.mark.parametrize("env", ["staging", "production"])
def test_failed_gates_are_refused_and_nothing_changes(repo: GitOpsRepo, tmp_path: Path, env: str) -> None:
    clone = repo.clone("alice")
    if env == "production":
        assert to_staging(clone, tmp_path / "ok", "one") == 0
    before, log = snapshot(clone, f"{OVERLAYS}/{env}"), repo.origin_log()
    facts = write_facts(tmp_path / "failed", model_sha256=model_sha("one"), passed=False)
    image = f"{REPOSITORY}@{digest('one')}"
    code = promote.main(["--env", env, "--image", image, *facts_args(facts), "--root", str(clone)])
    assert code == promote.EXIT_REFUSED
    assert snapshot(clone, f"{OVERLAYS}/{env}") == before
    assert repo.origin_log() == log


def test_dry_run_prints_the_diff_and_changes_nothing(
    repo: GitOpsRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = repo.clone("alice")
    before, head, log = snapshot(clone, STAGING), git(clone, "rev-parse", "HEAD"), repo.origin_log()

    assert to_staging(clone, tmp_path / "facts", "one", "--dry-run") == 0

    out = capsys.readouterr().out
    assert f"+++ b/{STAGING}/kustomization.yaml" in out
    assert f"+    digest: {digest('one')}" in out
    assert "-    newTag: latest" in out
    assert f"+++ b/{STAGING}/release.json" in out
    assert snapshot(clone, STAGING) == before
    assert git(clone, "rev-parse", "HEAD") == head
    assert repo.origin_log() == log
    assert git(clone, "status", "--porcelain") == ""


def test_promoting_the_same_release_twice_is_a_no_op(
    repo: GitOpsRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = repo.clone("alice")
    assert to_staging(clone, tmp_path / "facts", "one") == 0
    log = repo.origin_log()
    capsys.readouterr()

    assert to_staging(clone, tmp_path / "facts", "one") == 0

    assert "nothing to do" in capsys.readouterr().out
    assert repo.origin_log() == log
    # and the same for production, from another clone
    bob = repo.clone("bob")
    assert promote.main(["--env", "production", "--from-env", "staging", "--root", str(bob)]) == 0
    log = repo.origin_log()
    assert promote.main(["--env", "production", "--from-env", "staging", "--root", str(bob)]) == 0
    assert repo.origin_log() == log


def test_rollback_promotes_an_earlier_release_again(repo: GitOpsRepo, tmp_path: Path) -> None:
    clone = repo.clone("alice")
    promote_to_prod = ["--env", "production", "--from-env", "staging", "--root", str(clone)]
    assert to_staging(clone, tmp_path / "facts", "one") == 0
    assert promote.main(promote_to_prod) == 0
    first_production = repo.origin_log(PRODUCTION)[0]
    assert to_staging(clone, tmp_path / "facts", "two") == 0
    assert promote.main(promote_to_prod) == 0
    assert json.loads((clone / PRODUCTION / "release.json").read_text())["image"]["digest"] == digest("two")

    code = promote.main(["--env", "production", "--from-commit", first_production[:10], "--root", str(clone)])

    assert code == 0
    head = repo.origin_log()[0]
    assert repo.origin_file(head, f"{PRODUCTION}/release.json") == repo.origin_file(
        first_production, f"{PRODUCTION}/release.json"
    )
    assert f"digest: {digest('one')}" in (repo.origin_file(head, f"{PRODUCTION}/kustomization.yaml") or "")
    assert trailers(repo.origin, head)["Restored-From"] == first_production


def test_rollback_refuses_a_commit_without_a_release(repo: GitOpsRepo, tmp_path: Path) -> None:
    clone = repo.clone("alice")
    seed_commit = repo.origin_log()[-1]
    before = snapshot(clone, PRODUCTION)
    code = promote.main(["--env", "production", "--from-commit", seed_commit, "--root", str(clone)])
    assert code == promote.EXIT_REFUSED
    assert snapshot(clone, PRODUCTION) == before


def test_an_overlay_that_does_not_render_is_refused_and_restored(repo: GitOpsRepo, tmp_path: Path) -> None:
    require_binary("kubectl")
    clone = repo.clone("alice")
    kustomization = clone / STAGING / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("../../base", "../../missing-base"))
    git(clone, "commit", "--quiet", "-am", "break the staging overlay")
    git(clone, "push", "--quiet", "origin", "HEAD:main")
    before, log = snapshot(clone, STAGING), repo.origin_log()

    assert to_staging(clone, tmp_path / "facts", "one") == promote.EXIT_REFUSED

    assert snapshot(clone, STAGING) == before  # release.json was written, then removed again
    assert repo.origin_log() == log
    assert git(clone, "status", "--porcelain") == ""


def test_an_image_entry_matching_no_container_is_refused(repo: GitOpsRepo, tmp_path: Path) -> None:
    """Kustomize renders fine, but the pinned image would reach no container: nothing would deploy."""
    require_binary("kubectl")
    clone = repo.clone("alice")
    kustomization = clone / STAGING / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace(f"name: {IMAGE_NAME}", "name: ghcr.io/example/other"))
    git(clone, "commit", "--quiet", "-am", "rename the image entry")
    git(clone, "push", "--quiet", "origin", "HEAD:main")
    before = snapshot(clone, STAGING)

    assert to_staging(clone, tmp_path / "facts", "one") == promote.EXIT_REFUSED
    assert snapshot(clone, STAGING) == before


def test_uncommitted_overlay_changes_are_refused(repo: GitOpsRepo, tmp_path: Path) -> None:
    clone = repo.clone("alice")
    kustomization = clone / STAGING / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "# local edit\n")
    before = snapshot(clone, STAGING)
    assert to_staging(clone, tmp_path / "facts", "one") == promote.EXIT_REFUSED
    assert snapshot(clone, STAGING) == before


def test_local_commits_not_on_the_remote_are_refused(repo: GitOpsRepo, tmp_path: Path) -> None:
    """A promotion commit carries only the promotion; it does not push someone's unrelated work along."""
    clone = repo.clone("alice")
    (clone / "notes.txt").write_text("local work\n")
    git(clone, "commit", "--quiet", "-am", "local work")
    log = repo.origin_log()
    assert to_staging(clone, tmp_path / "facts", "one") == promote.EXIT_REFUSED
    assert repo.origin_log() == log


def test_no_push_commits_locally_only(repo: GitOpsRepo, tmp_path: Path) -> None:
    clone = repo.clone("alice")
    log = repo.origin_log()
    assert to_staging(clone, tmp_path / "facts", "one", "--no-push") == 0
    assert repo.origin_log() == log
    assert git(clone, "rev-list", "--count", "origin/main..HEAD") == "1"


def test_a_rejected_push_is_fetched_replayed_and_retried(
    repo: GitOpsRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Between the promotion's fetch and its push, another clone pushes: the first push is rejected."""
    alice, bob = repo.clone("alice"), repo.clone("bob")
    marker = tmp_path / "hook-fired"
    hook = alice / ".git/hooks/pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then\n'
        f'  touch "{marker}"\n'
        "  unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n"
        f'  cd "{bob}" && echo "bob was here" >> notes.txt && git commit -qam "bob: unrelated change" '
        "&& git push -q origin HEAD:main\n"
        "fi\n"
    )
    hook.chmod(0o755)

    assert to_staging(alice, tmp_path / "facts", "one") == 0

    assert marker.exists()
    assert "lost a race" in capsys.readouterr().err
    newest, second = repo.origin_log()[:2]
    assert git(repo.origin, "log", "-1", "--format=%s", second) == "bob: unrelated change"
    assert git(repo.origin, "log", "-1", "--format=%s", newest).startswith("promote(staging):")
    assert repo.origin_file(newest, "notes.txt") == "unrelated file other people change\nbob was here\n"


def test_retries_are_bounded_and_fail_loudly(
    repo: GitOpsRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A remote that always moves first: the tool gives up with exit 3 and leaves the clone as the remote has it."""
    alice, bob = repo.clone("alice"), repo.clone("bob")
    hook = alice / ".git/hooks/pre-push"
    hook.write_text(
        "#!/bin/sh\nunset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n"
        f'cd "{bob}" && git pull -q --rebase origin main && echo x >> notes.txt && git commit -qam "bob again" '
        "&& git push -q origin HEAD:main\n"
    )
    hook.chmod(0o755)

    code = to_staging(alice, tmp_path / "facts", "one", "--max-retries", "2")

    assert code == promote.EXIT_GIT
    assert "gave up after 3 attempts" in capsys.readouterr().err
    assert not any(git(repo.origin, "log", "-1", "--format=%s", c).startswith("promote") for c in repo.origin_log())
    assert git(alice, "status", "--porcelain") == ""


def test_cli_help_and_usage_errors(tmp_path: Path) -> None:
    help_text = run_cli(["--help"], cwd=tmp_path)
    assert help_text.returncode == 0
    assert "--from-commit" in help_text.stdout
    assert "rollback" in help_text.stdout
    both = run_cli(["--env", "staging", "--image", f"{REPOSITORY}@{digest('x')}", "--from-env", "staging"], tmp_path)
    assert both.returncode == 2
    assert "not both" in both.stderr
    tagged = run_cli(["--env", "staging", "--image", f"{REPOSITORY}:v1"], tmp_path)
    assert tagged.returncode == 2
    assert "pinned by digest" in tagged.stderr
