"""Which staging promotion vouches for a release: read from git history, never from the record's content alone.

"Production only after staging" used to trust any commit that left the same image digest and model sha256 in
`k8s/overlays/staging/release.json`, so a hand-committed record (a digest that never deployed, a raised metric, a
changed model sha) was as good as a real promotion. A commit vouches for a release only when all of these hold:

- it sits on the first-parent chain of the branch (a pull request's own commits arrive behind a merge commit);
- it has one parent and changes only the overlay's `kustomization.yaml` and `release.json`;
- its author and committer are a promotion identity (`--trusted-identity`: the GitHub App's bot, or
  github-actions[bot]); on GitHub the ruleset lets only that identity push to main without a pull request;
- its subject and trailers are the ones `ci.promote` writes, and they name this release (image, digest, model,
  version, sha256, data hash, source commit);
- the record it wrote equals the release byte for byte (environment aside);
- `ci.check_overlays` confirms the overlay at that commit: it renders and pins exactly that image.

Git identities are not authenticated: locally this proves consistency, on GitHub the ruleset is what makes the
promotion identity unforgeable on main's first-parent chain (docs/gitops.md, "Forged releases").
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ci import overlay
from ci.gitrepo import Git, GitError
from ci.release_record import RECORD_NAME, ReleaseError, ReleaseRecord, loads

#: The subject `ci.promote` writes starts with this, then the environment: `promote(staging): ...`.
SUBJECT_PREFIX = "promote("


@dataclass(frozen=True)
class Commit:
    """What the history says about one commit: who made it, what it touched, what its trailers claim."""

    sha: str
    parents: tuple[str, ...]
    author_email: str
    committer_email: str
    subject: str
    trailers: dict[str, str]
    files: tuple[str, ...]


def read_commit(git: Git, sha: str) -> Commit:
    header = git.run("show", "-s", "--format=%P%n%ae%n%ce%n%s", sha).stdout.rstrip("\n")
    parents, author, committer, subject = header.split("\n", 3)
    message = git.out("show", "-s", "--format=%B", sha)
    parsed = git.run("interpret-trailers", "--parse", stdin=message + "\n").stdout
    trailers = dict(line.split(": ", 1) for line in parsed.splitlines() if ": " in line)
    files = git.out("diff-tree", "--no-commit-id", "--name-only", "-r", "--root", sha).split()
    return Commit(sha, tuple(parents.split()), author.lower(), committer.lower(), subject, trailers, tuple(files))


def expected_trailers(release: ReleaseRecord, env: str) -> dict[str, str]:
    """The trailers a promotion of `release` into `env` carries (ci.promote.commit_message writes them)."""
    model = release.model
    return {
        "Environment": env,
        "Model": model.name,
        "Model-Version": model.version or "none",
        "Model-Sha256": model.sha256,
        "Data-Hash": release.data.dvc_hash,
        "Source-Commit": release.git_sha,
        "Image": release.image.repository,
        "Image-Digest": release.image.digest,
    }


def commit_problems(
    git: Git, commit: Commit, release: ReleaseRecord, overlay_rel: str, trusted: frozenset[str]
) -> list[str]:
    """Why `commit` does not vouch that `release` ran in the overlay at `overlay_rel` (empty: it does)."""
    env = Path(overlay_rel).name
    short = commit.sha[:12]
    problems: list[str] = []
    if len(commit.parents) != 1:
        problems.append(f"{short} has {len(commit.parents)} parents; a promotion commit has exactly one")
    strangers = sorted({commit.author_email, commit.committer_email} - trusted)
    if strangers:
        problems.append(
            f"{short} was made by {', '.join(strangers)}, not a promotion identity ({', '.join(sorted(trusted))})"
        )
    allowed = {f"{overlay_rel}/{overlay.KUSTOMIZATION}", f"{overlay_rel}/{RECORD_NAME}"}
    extra = sorted(set(commit.files) - allowed)
    if extra:
        problems.append(f"{short} also changes {', '.join(extra)}; a promotion commit changes only its overlay")
    if not commit.subject.startswith(f"{SUBJECT_PREFIX}{env}):"):
        problems.append(f"{short} subject {commit.subject!r} is not a {env} promotion's")
    wrong = {
        key: (commit.trailers.get(key), value)
        for key, value in expected_trailers(release, env).items()
        if commit.trailers.get(key) != value
    }
    if wrong:
        detail = ", ".join(f"{k}: {got!r} (release says {want!r})" for k, (got, want) in sorted(wrong.items()))
        problems.append(f"{short} trailers do not name this release: {detail}")
    text = git.show(commit.sha, f"{overlay_rel}/{RECORD_NAME}")
    try:
        recorded = loads(text, f"{short}:{overlay_rel}/{RECORD_NAME}") if text else None
    except ReleaseError as exc:
        return [*problems, str(exc)]
    if recorded is None or recorded.for_environment(release.environment) != release:
        problems.append(f"{short}:{overlay_rel}/{RECORD_NAME} is not this release record (some field differs)")
    if not problems:
        problems += overlay_problems_at(git, commit.sha, overlay_rel)
    return problems


def overlay_problems_at(git: Git, sha: str, overlay_rel: str) -> list[str]:
    """`ci.check_overlays` on the overlay as it was at `sha` (rendered from that commit's tree, not this one)."""
    from ci.check_overlays import check_overlay

    top = Path(overlay_rel).parts[0]
    with tempfile.TemporaryDirectory(prefix="lighthouse-overlay-") as tmp:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha, "--", top], cwd=git.root, capture_output=True, check=False
        )
        if archive.returncode != 0:
            raise GitError(f"`git archive {sha[:12]} -- {top}` failed: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, capture_output=True, check=True)
        problems, _ = check_overlay(Path(tmp) / overlay_rel)
    return [f"{sha[:12]}: check_overlays: {p.replace(tmp + '/', '')}" for p in problems]


def vouching_commit(
    git: Git, release: ReleaseRecord, overlay_rel: str, trusted: frozenset[str]
) -> tuple[str | None, list[str]]:
    """The newest promotion commit on the first-parent chain that put `release` into `overlay_rel`.

    Returns (sha, []) when one is found, else (None, why each commit that recorded the same image and model
    did not count): those are the forgeries and near misses worth naming.
    """
    record_rel = f"{overlay_rel}/{RECORD_NAME}"
    out = git.out("log", "--first-parent", "--format=%H", "HEAD", "--", record_rel)
    reasons: list[str] = []
    for sha in out.split():
        text = git.show(sha, record_rel)
        try:
            recorded = loads(text, f"{sha[:12]}:{record_rel}") if text else None
        except ReleaseError:
            continue  # an unreadable old record cannot vouch for anything
        if recorded is None or recorded.identity != release.identity:
            continue
        problems = commit_problems(git, read_commit(git, sha), release, overlay_rel, trusted)
        if not problems:
            return sha, []
        reasons += problems
    return None, reasons
