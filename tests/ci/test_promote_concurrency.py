"""Several processes promote at once from their own clones: every promotion lands whole, none is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ci.overlay import pinned_image
from tests.ci.promote_fixtures import (
    OVERLAYS,
    REPOSITORY,
    GitOpsRepo,
    clean_env,
    digest,
    facts_args,
    git,
    run_cli,
    write_facts,
)

STAGING_PROCESSES = 4
RACERS = STAGING_PROCESSES + 1


def _barrier_hook(clone: Path, barrier: Path, name: str) -> None:
    """A pre-push hook that holds each racer's first push until all racers are ready: a guaranteed collision."""
    hook = clone / ".git/hooks/pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{barrier}/{name}" ]; then\n'
        f'  touch "{barrier}/{name}"; i=0\n'
        f'  while [ "$(ls "{barrier}" | wc -l)" -lt {RACERS} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n'
        "fi\n"
    )
    hook.chmod(0o755)


def test_concurrent_promotions_all_land_whole_and_in_sequence(tmp_path: Path) -> None:
    repo = GitOpsRepo(tmp_path)
    # A release already in staging, so one racer can promote it to production while the others bump staging.
    first = repo.clone("first")
    facts0 = write_facts(tmp_path / "facts/zero", model_sha256=digest("model-zero")[7:])
    started = run_cli(["--env", "staging", "--image", f"{REPOSITORY}@{digest('zero')}", *facts_args(facts0)], first)
    assert started.returncode == 0, started.stderr

    barrier = tmp_path / "barrier"
    barrier.mkdir()
    racers: dict[str, subprocess.Popen[str]] = {}
    for n in range(STAGING_PROCESSES):
        seed = f"racer-{n}"
        clone = repo.clone(seed)
        _barrier_hook(clone, barrier, seed)
        facts = write_facts(tmp_path / "facts" / seed, model_sha256=digest(f"model-{seed}")[7:])
        image = f"{REPOSITORY}@{digest(seed)}"
        racers[seed] = _start(["--env", "staging", "--image", image, *facts_args(facts)], clone)
    prod = repo.clone("prod")
    _barrier_hook(prod, barrier, "prod")
    racers["to-production"] = _start(
        ["--env", "production", "--image", f"{REPOSITORY}@{digest('zero')}", *facts_args(facts0)], prod
    )
    results = {name: (proc.wait(timeout=300), proc.communicate()) for name, proc in racers.items()}

    for name, (code, (_, err)) in results.items():
        assert code == 0, f"{name} failed loudly, as it should if it fails, but it should have landed: {err}"
    lost = sum(err.count("lost a race") for _, (_, err) in results.values())
    assert lost >= RACERS - 1  # all pushed at once: only one can win the first round

    history = list(reversed(repo.origin_log()))  # oldest first
    assert git(repo.origin, "rev-list", "--merges", "main") == ""  # linear: replayed, never merged
    promotions = [c for c in history if _subject(repo, c).startswith("promote(")]
    assert len(promotions) == 1 + STAGING_PROCESSES + 1

    # Every racer's digest was introduced by exactly one promotion commit, whole (both files, one overlay).
    introduced = [_digest_trailer(repo, c) for c in promotions]
    expected = [digest("zero"), *(digest(f"racer-{n}") for n in range(STAGING_PROCESSES)), digest("zero")]
    assert sorted(introduced) == sorted(expected)
    for commit in promotions:
        changed = sorted(git(repo.origin, "show", "--name-only", "--format=", commit).split())
        env = (
            "production"
            if "Environment: production" in git(repo.origin, "log", "-1", "--format=%B", commit)
            else "staging"
        )
        assert changed == [f"{OVERLAYS}/{env}/kustomization.yaml", f"{OVERLAYS}/{env}/release.json"]

    # At every commit, each overlay's kustomization pins exactly what its release record says.
    for commit in history:
        for env in ("staging", "production"):
            record_text = repo.origin_file(commit, f"{OVERLAYS}/{env}/release.json")
            kustomization = repo.origin_file(commit, f"{OVERLAYS}/{env}/kustomization.yaml") or ""
            pinned = pinned_image(kustomization, f"{commit}:{env}")
            if record_text is None:
                assert pinned.digest is None
                continue
            record = json.loads(record_text)
            assert record["environment"] == env
            assert pinned.reference == f"{record['image']['repository']}@{record['image']['digest']}"


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ci.promote", *args, "--max-retries", "20"],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _subject(repo: GitOpsRepo, commit: str) -> str:
    return git(repo.origin, "log", "-1", "--format=%s", commit)


def _digest_trailer(repo: GitOpsRepo, commit: str) -> str:
    message = git(repo.origin, "log", "-1", "--format=%B", commit)
    return next(line.split(": ", 1)[1] for line in message.splitlines() if line.startswith("Image-Digest: "))
