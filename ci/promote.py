"""Promote a release into an environment's overlay: one git commit that pins the image and records why.

    python -m ci.promote --env staging --image ghcr.io/o/r@sha256:<64 hex>
    python -m ci.promote --env production --from-env staging
    python -m ci.promote --env production --from-commit <earlier sha>      # rollback

A promotion sets the digest in `k8s/overlays/<env>/kustomization.yaml` (comments and layout kept), writes
`release.json` beside it, renders the overlay with `kubectl kustomize`, commits with audit trailers and pushes. A
rejected push (someone else promoted first) is met by fetching, replaying the promotion on the new tip and pushing
again. Git history is the audit trail and Argo CD deploys what it says.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ci import overlay, overlay_root
from ci.attestation import AttestationError, Identity
from ci.attestation import verify as verify_attestation
from ci.check_overlays import check_rendered_overlay
from ci.gitrepo import Git, GitError
from ci.promotion_log import vouching_commit
from ci.push_identity import PushIdentity
from ci.push_identity import resolve as resolve_push_identity
from ci.release_record import (
    ENVIRONMENTS,
    RECORD_NAME,
    Environment,
    ImageInfo,
    ReleaseError,
    ReleaseRecord,
    loads,
    make_image,
    parse_image,
)
from ci.release_record import build as build_record
from model.core.errors import LighthouseError
from model.core.io import atomic_path
from model.core.tracking import MODEL_SHA256_TAG

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_GIT = 3
DEFAULT_OVERLAYS = overlay_root.DEFAULT_OVERLAYS
#: Comma-separated emails of the identities whose staging promotions production trusts (the GitHub App's bot,
#: github-actions[bot]); the same as --trusted-identity. Default: the identity this promotion commits as.
TRUSTED_ENV = "LIGHTHOUSE_TRUSTED_IDENTITIES"
#: `Name <email>` to commit as (the GitHub App's bot in CI); the same as --identity.
IDENTITY_ENV = "LIGHTHOUSE_PROMOTION_IDENTITY"
#: A token for fetch and push only (the App's installation token in CI), given to git through its environment so
#: it is never written into .git/config (docs/gitops.md, "Credentials").
PUSH_TOKEN_ENV = "LIGHTHOUSE_PUSH_TOKEN"  # noqa: S105 - the name of the variable, not a secret
DEFAULT_MAX_RETRIES = 8
#: Shown first in the commit body; the record keeps every metric.
KEY_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy")
#: Substrings of `git push` output that mean "lost a race", worth a retry even before the remote tip is seen to move.
RACE_SIGNS = ("fetch first", "non-fast-forward", "cannot lock ref", "failed to update ref", "incorrect old value")


class RefusedError(LighthouseError):
    """The promotion breaks a rule (not in staging, gates failed, overlay does not render): nothing was changed."""


@dataclass(frozen=True)
class Plan:
    """The two files a promotion writes, before and after."""

    root: Path
    overlay: Path
    release: ReleaseRecord
    old_kustomization: str
    new_kustomization: str
    old_record: str | None
    new_record: str

    @property
    def kustomization(self) -> Path:
        return overlay.kustomization_path(self.overlay)

    @property
    def record_path(self) -> Path:
        return self.overlay / RECORD_NAME

    @property
    def paths(self) -> list[str]:
        return [str(p.relative_to(self.root)) for p in (self.kustomization, self.record_path)]

    @property
    def unchanged(self) -> bool:
        return self.old_kustomization == self.new_kustomization and self.old_record == self.new_record

    def diff(self) -> str:
        chunks: list[str] = []
        for rel, old, new in zip(
            self.paths,
            (self.old_kustomization, self.old_record or ""),
            (self.new_kustomization, self.new_record),
            strict=True,
        ):
            chunks += difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{rel}", f"b/{rel}"
            )
        return "".join(chunks)


@dataclass(frozen=True)
class Options:
    root: Path
    env: Environment
    overlays: str
    image: ImageInfo | None
    facts: dict[str, Path | None]
    model_name: str | None
    from_env: Environment | None
    from_commit: str | None
    image_name: str | None
    approver: str
    run_url: str | None
    dry_run: bool
    push: bool
    remote: str
    branch: str | None
    max_retries: int
    identity: tuple[str, str] | None = None
    trusted: frozenset[str] = frozenset()
    #: Production only: the image's build provenance must be signed by this repository's main workflow.
    attestation: Identity | None = None

    def overlay_dir(self, env: str) -> Path:
        return self.root / self.overlays / env

    def record_rel(self, env: str) -> str:
        return f"{self.overlays}/{env}/{RECORD_NAME}"


# --- what is promoted ------------------------------------------------------------------------------------------


def resolve_release(opts: Options, git: Git) -> ReleaseRecord:
    """The release to promote: recorded in git (`--from-env`/`--from-commit`) or built from the pipeline's files."""
    if opts.from_env is not None or opts.from_commit is not None:
        source_env = opts.from_env or opts.env
        rev = git.resolve(opts.from_commit or "HEAD")
        rel = opts.record_rel(source_env)
        text = git.show(rev, rel)
        if text is None:
            raise RefusedError(f"{rev[:12]}:{rel}: no release record there; {source_env} has never been promoted")
        return loads(text, f"{rev[:12]}:{rel}").for_environment(opts.env)
    assert opts.image is not None  # parse_options guarantees one source
    facts = opts.facts
    return build_record(
        environment=opts.env,
        image=opts.image,
        metrics=_required(facts["metrics"]),
        fairness=_required(facts["fairness"]),
        gates=_required(facts["gates"]),
        model_record=_required(facts["model_record"]),
        registration=facts["registration"],
        model_name=opts.model_name,
    )


def check_policy(release: ReleaseRecord, opts: Options, git: Git) -> None:
    """Refuse what must never deploy: failed gates anywhere; in production, anything staging never ran."""
    if not release.gates.passed:
        failed = ", ".join(release.gates.failed) or "unnamed"
        raise RefusedError(
            f"gates: passed is false (failed: {failed}); a release that failed its gates is not promoted to {opts.env}"
        )
    if opts.env != "production":
        return
    staging = f"{opts.overlays}/staging"
    commit, reasons = vouching_commit(git, release, staging, opts.trusted)
    if commit is not None:
        print(f"promote: staging ran this release: promotion commit {commit[:12]}")
        return
    shallow = git.out("rev-parse", "--is-shallow-repository") == "true"
    hint = " (this clone is shallow: fetch the full history, e.g. fetch-depth: 0)" if shallow else ""
    why = "".join(f"\n  - {reason}" for reason in reasons)
    raise RefusedError(
        f"{staging}/{RECORD_NAME}: no promotion commit on the first-parent history put image {release.image.digest} "
        f"with model sha256 {release.model.sha256} and this exact record into staging; a release must run in "
        f"staging before production{hint}{why}"
    )


def check_provenance(release: ReleaseRecord, opts: Options) -> None:
    """Before anything is written: the image's attestation (production, when asked) and the registry's sha256."""
    if opts.attestation is not None and opts.env == "production":
        try:
            verify_attestation(release.image.reference, opts.attestation)
        except AttestationError as exc:
            raise RefusedError(str(exc)) from exc
        print(f"promote: {release.image.reference} carries build provenance signed by {opts.attestation.signer_uri}")
    problem = registry_sha256_problem(release)
    if problem:
        raise RefusedError(problem)


def registry_sha256_problem(release: ReleaseRecord) -> str | None:
    """The registry's `model_sha256` tag of this version must be the release's artifact sha256 (when a server and
    a version exist): the record, the registry and the release must name the same bytes."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri.startswith(("http://", "https://")) or release.model.version is None:
        return None
    from ci.mlflow_rest import model_version_tags

    tags = model_version_tags(uri, release.model.name, release.model.version)
    tagged = tags.get(MODEL_SHA256_TAG)
    if tagged == release.model.sha256:
        print(f"promote: registry {release.model.name} v{release.model.version} is the same artifact (sha256 tag)")
        return None
    return (
        f"registry: {release.model.name} version {release.model.version} has {MODEL_SHA256_TAG}={tagged!r}, but the "
        f"release records sha256 {release.model.sha256}: the registered model is not the released artifact"
    )


def make_plan(release: ReleaseRecord, opts: Options) -> Plan:
    target = opts.overlay_dir(opts.env)
    kustomization = overlay.kustomization_path(target)
    if not kustomization.is_file():
        raise RefusedError(f"{kustomization}: not found; is {target} an overlay?")
    old = kustomization.read_text(encoding="utf-8")
    new = overlay.pin_image(
        old, str(kustomization), release.image.repository, release.image.digest, image_name=opts.image_name
    )
    new = overlay.drop_unreleased(new, str(kustomization))  # the first release brings the workload
    record_path = target / RECORD_NAME
    old_record = record_path.read_text(encoding="utf-8") if record_path.exists() else None
    return Plan(opts.root, target, release, old, new, old_record, release.dumps())


# --- writing, committing, pushing --------------------------------------------------------------------------------


def apply_plan(plan: Plan, git: Git, message: str, identity: tuple[str, str] | None = None) -> str:
    """Write both files, prove the overlay renders, commit; on any failure put both files back as they were."""
    originals = {path: path.read_bytes() if path.exists() else None for path in (plan.kustomization, plan.record_path)}
    try:
        _write(plan.kustomization, plan.new_kustomization)
        _write(plan.record_path, plan.new_record)
        rendered = overlay.render(plan.overlay)
        if rendered is not None:
            overlay.check_rendered(plan.overlay, rendered, plan.release.image.reference)
        problems, _ = check_rendered_overlay(plan.overlay, rendered)
        if problems:
            raise RefusedError("; ".join(problems))
        git.run("add", "--", *plan.paths)
        git.run(*git.identity_args(identity), "commit", "--quiet", "--file=-", "--", *plan.paths, stdin=message)
    except BaseException:
        for path, content in originals.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                with atomic_path(path) as tmp:
                    tmp.write_bytes(content)
        git.run("reset", "--quiet", "--", *plan.paths, check=False)
        raise
    return git.head()


def sync_with_remote(git: Git, remote: str, branch: str) -> str:
    """Fetch the branch and fast-forward to it; refuse if this clone has commits the remote lacks."""
    tracking = f"refs/remotes/{remote}/{branch}"
    git.run("fetch", "--quiet", remote, f"+refs/heads/{branch}:{tracking}")
    ahead = git.out("rev-list", "--count", f"{tracking}..HEAD")
    if ahead != "0":
        raise RefusedError(
            f"{branch} has {ahead} commit(s) not on {remote}; a promotion commit must contain only the promotion "
            f"(push or drop them first)"
        )
    git.run("merge", "--ff-only", "--quiet", tracking)
    return git.head()


def push(git: Git, remote: str, branch: str, base: str) -> bool:
    """Push HEAD; True when it landed, False when another push won the race (caller replays and retries)."""
    proc = git.run("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
    if proc.returncode == 0:
        return True
    output = f"{proc.stdout}\n{proc.stderr}"
    git.run("fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}", check=False)
    moved = git.run("rev-parse", f"refs/remotes/{remote}/{branch}", check=False).stdout.strip() != base
    if moved or any(sign in output for sign in RACE_SIGNS):
        return False
    raise GitError(f"`git push {remote} HEAD:{branch}` failed: {output.strip()}")


def promote(opts: Options) -> tuple[ReleaseRecord, str | None]:
    """Run the promotion; return the release and the new commit (None when nothing changed or dry run)."""
    git = Git(opts.root, push_token=os.environ.get(PUSH_TOKEN_ENV) or None)
    overlay_root.confine(opts.root, opts.overlays, ENVIRONMENTS)
    rendered_from = Path(opts.overlays).parts[0]  # overlays, base and components: everything the render reads
    dirty = git.status(rendered_from)
    if not opts.dry_run and dirty:
        files = ", ".join(line[3:] for line in dirty.splitlines())
        raise RefusedError(
            f"{rendered_from}/: uncommitted changes ({files}); the check would render files the commit does not "
            "carry: commit or discard them first"
        )
    pushing = opts.push and not opts.dry_run
    branch = opts.branch or git.current_branch()
    if pushing and branch is None:
        raise RefusedError("HEAD is detached; name the branch to push to with --branch")
    base = sync_with_remote(git, opts.remote, branch) if pushing and branch else git.head()
    release = resolve_release(opts, git)
    check_provenance(release, opts)
    restored_from = git.resolve(opts.from_commit) if opts.from_commit else None
    attempts = opts.max_retries + 1
    for attempt in range(1, attempts + 1):
        check_policy(release, opts, git)
        plan = make_plan(release, opts)
        if plan.unchanged:
            print(f"promote: {opts.env} already runs {release.image.reference} with this release record; nothing to do")
            return release, None
        if opts.dry_run:
            sys.stdout.write(plan.diff())
            print(f"promote: dry run; {opts.env} would run {release.image.reference} (nothing written)")
            return release, None
        commit = apply_plan(plan, git, commit_message(release, opts, restored_from), opts.identity)
        if not pushing or branch is None:
            print(f"promote: committed {commit[:12]} ({opts.env} ← {release.image.reference}); not pushed")
            return release, commit
        try:
            landed = push(git, opts.remote, branch, base)
        except GitError:
            git.run("reset", "--quiet", "--keep", base)  # leave the clone as the remote has it
            raise
        if landed:
            print(f"promote: {opts.env} ← {release.image.reference}; {commit[:12]} pushed to {opts.remote}/{branch}")
            return release, commit
        git.run("reset", "--quiet", "--keep", base)  # drop our commit; replay it on the new tip
        if attempt == attempts:
            break
        print(f"promote: push lost a race (attempt {attempt}/{attempts}); fetching and replaying", file=sys.stderr)
        time.sleep(_backoff(attempt))
        base = sync_with_remote(git, opts.remote, branch)
    raise GitError(
        f"gave up after {attempts} attempts: other pushes to {opts.remote}/{branch} kept winning; nothing was "
        "pushed, run it again"
    )


def commit_message(release: ReleaseRecord, opts: Options, restored_from: str | None = None) -> str:
    """Subject, a short body, and trailers (`git interpret-trailers --parse` reads them) for the audit trail."""
    model = release.model
    version = f"v{model.version}" if model.version else "unversioned"
    gates = "passed" if release.gates.passed else "FAILED"
    ranked = sorted(release.metrics, key=lambda k: (KEY_METRICS.index(k) if k in KEY_METRICS else len(KEY_METRICS), k))
    metrics = " ".join(f"{k}={release.metrics[k]:.4g}" for k in ranked[:6])
    trailers = {
        "Environment": opts.env,
        "Model": model.name,
        "Model-Version": model.version or "none",
        "Model-Sha256": model.sha256,
        "Data-Hash": release.data.dvc_hash,
        "MLflow-Run-Id": model.mlflow_run_id or "none",
        "Source-Commit": release.git_sha,
        "Image": release.image.repository,
        "Image-Digest": release.image.digest,
        "Approved-By": opts.approver,
        "Run-URL": opts.run_url or "none (run outside GitHub Actions)",
    }
    if restored_from:
        trailers["Restored-From"] = restored_from
    lines = [
        f"promote({opts.env}): {model.name} {version} image {release.image.digest[:19]}",
        "",
        f"Pin {release.image.reference} in {opts.overlays}/{opts.env}",
        f"and record the release in {opts.record_rel(opts.env)}.",
        f"Gates: {gates}. Metrics: {metrics}.",
        "",
        *(f"{key}: {_one_line(value)}" for key, value in trailers.items()),
    ]
    return "\n".join(lines) + "\n"


# --- after the push ------------------------------------------------------------------------------------------------


def report_to_actions(release: ReleaseRecord, commit: str | None, env: str) -> None:
    """Step outputs and a summary line when running in GitHub Actions; nothing otherwise."""
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"commit={commit or ''}\nchanged={'true' if commit else 'false'}\n")
            handle.write(f"image={release.image.reference}\n")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        what = f"commit `{commit[:12]}`" if commit else "no change (already promoted)"
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(
                f"### Promotion to {env}\n\n`{release.image.reference}` — model {release.model.name} "
                f"{release.model.version or '(unversioned)'}, sha256 `{release.model.sha256[:12]}`: {what}\n"
            )


# --- command line ----------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ci.promote",
        description=(
            "Promote a release into k8s/overlays/<env>: pin the image by digest in kustomization.yaml (comments and "
            "layout kept), write release.json beside it, render the overlay with `kubectl kustomize`, commit with "
            "audit trailers and push, replaying on the new tip when another push won. Refuses, changing nothing, "
            "a release whose gates failed and, in production, one that never ran in staging. Promoting the same "
            "release twice is a no-op."
        ),
        epilog=(
            "examples:\n"
            "  python -m ci.promote --env staging --image ghcr.io/o/r@sha256:<64 hex>  # facts: reports/, models/\n"
            "  python -m ci.promote --env production --from-env staging               # staging's release\n"
            "  python -m ci.promote --env production --from-commit abc123             # rollback to it\n"
            "  python -m ci.promote --env staging --image ... --dry-run               # print the diff only\n\n"
            "exit status: 0 promoted or nothing to do, 1 refused (nothing changed), 2 usage, 3 git/push failed.\n"
            "No registry alias moves here: `python -m ci.verify ENV` moves it once the cluster runs the release."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS, help="the environment to promote into")
    source = parser.add_argument_group("what to promote (an image with release facts, or a recorded release)")
    source.add_argument("--image", help="image pinned by digest: REPOSITORY@sha256:<64 hex>")
    source.add_argument("--digest", help="image digest sha256:<64 hex> (with --repository, instead of --image)")
    source.add_argument("--repository", help="image repository, e.g. ghcr.io/owner/repo (with --digest)")
    source.add_argument(
        "--from-env", choices=ENVIRONMENTS, help="promote the release recorded in this environment's overlay"
    )
    source.add_argument(
        "--from-commit",
        metavar="REV",
        help="read the recorded release at this commit (default HEAD): with --env production and an earlier "
        "commit, this is a rollback; the overlay read is --from-env, else --env",
    )
    facts = parser.add_argument_group("release facts (with --image/--digest)")
    for flag, default in (
        ("--metrics", "reports/metrics.json"),
        ("--fairness", "reports/fairness.json"),
        ("--gates", "reports/gates.json"),
        ("--model-record", "models/model.json"),
    ):
        facts.add_argument(flag, type=Path, default=Path(default), help=f"default {default}")
    facts.add_argument(
        "--registration",
        type=Path,
        help="the register stage's record (default models/registration.json when it exists)",
    )
    facts.add_argument("--model-name", help="registered model name (default: registration, else params.yaml)")
    where = parser.add_argument_group("repository")
    where.add_argument("--root", type=Path, help="repository root (default: the git top level of the cwd)")
    where.add_argument("--overlays", default=DEFAULT_OVERLAYS, help=f"overlays directory (default {DEFAULT_OVERLAYS})")
    where.add_argument("--image-name", help="the `images:` entry to pin (default: the overlay's only entry)")
    where.add_argument("--remote", default="origin", help="remote to push to (default origin)")
    where.add_argument("--branch", help="branch to push to (default: the current branch)")
    where.add_argument("--push", action=argparse.BooleanOptionalAction, default=True, help="push the commit")
    where.add_argument(
        "--max-retries",
        type=int,
        default=DEFAULT_MAX_RETRIES,
        help=f"replays after a rejected push (default {DEFAULT_MAX_RETRIES})",
    )
    where.add_argument("--dry-run", action="store_true", help="print the unified diff and change nothing")
    audit = parser.add_argument_group("audit trail")
    audit.add_argument("--approver", help="who approved (default: GITHUB_ACTOR, else git user.name)")
    audit.add_argument(
        "--approver-from-run",
        action="store_true",
        help="ask the GitHub API who approved this run's protected environment (needs GITHUB_TOKEN, actions: read)",
    )
    audit.add_argument("--run-url", help="default: from GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID")
    identity = parser.add_argument_group('promotion identity (docs/gitops.md, "Forged releases")')
    identity.add_argument(
        "--identity",
        metavar="'NAME <EMAIL>'",
        default=os.environ.get(IDENTITY_ENV) or None,
        help=f"commit as this identity (default ${IDENTITY_ENV}, else git config, else github-actions[bot])",
    )
    identity.add_argument(
        "--trusted-identity",
        metavar="EMAIL",
        action="append",
        default=None,
        help=f"email whose staging promotions production trusts; repeatable (default ${TRUSTED_ENV}, comma-"
        "separated, else the identity this run commits as)",
    )
    checks = parser.add_argument_group("provenance (production)")
    checks.add_argument(
        "--verify-attestation",
        metavar="OWNER/REPO",
        help="refuse unless the image's build provenance (gh attestation verify) was signed by this repository's "
        ".github/workflows/main.yml on refs/heads/main",
    )
    checks.add_argument(
        "--github-identity",
        action="store_true",
        help="on GitHub Actions: commit as the promotion App's bot (PROMOTION_APP_SLUG) or, with no App and no "
        "blocking ruleset, as github-actions[bot] with a notice; trust both for staging's promotions",
    )
    return parser


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = build_parser()
    args = parser.parse_args(argv)
    from_git = args.from_env is not None or args.from_commit is not None
    has_image = args.image is not None or args.digest is not None or args.repository is not None
    if from_git and has_image:
        parser.error("give an image (--image, or --digest with --repository) or --from-env/--from-commit, not both")
    if not from_git and not has_image:
        parser.error("nothing to promote: give --image (or --digest and --repository), --from-env or --from-commit")
    if args.image is not None and (args.digest or args.repository):
        parser.error("--image already names repository and digest; drop --digest/--repository")
    if args.image is None and has_image and not (args.digest and args.repository):
        parser.error("--digest and --repository go together")
    if args.max_retries < 0:
        parser.error("--max-retries must be 0 or more")
    try:
        image = None
        if args.image is not None:
            image = parse_image(args.image)
        elif has_image:
            image = make_image(args.repository, args.digest, source="--digest/--repository")
        root = (args.root or Path(Git(Path.cwd()).out("rev-parse", "--show-toplevel"))).resolve()
    except LighthouseError as exc:
        parser.error(str(exc))
    identity = _parse_identity(args.identity) if args.identity else None
    trusted = args.trusted_identity or [e for e in os.environ.get(TRUSTED_ENV, "").split(",") if e.strip()]
    if args.github_identity:
        pusher = _github_identity(args.branch or Git(root).current_branch() or "main")
        identity = identity or (pusher.name, pusher.email)
        trusted = trusted or sorted(pusher.trusted)
    if not trusted:
        trusted = [Git(root).identity(identity)[1]]
    registration = args.registration
    default_registration = root / "models/registration.json"
    if registration is None and image is not None and default_registration.exists():
        registration = default_registration
    return Options(
        root=root,
        env=args.env,
        overlays=args.overlays.strip("/"),
        image=image,
        facts={
            "metrics": _under(root, args.metrics),
            "fairness": _under(root, args.fairness),
            "gates": _under(root, args.gates),
            "model_record": _under(root, args.model_record),
            "registration": _under(root, registration) if registration else None,
        },
        model_name=args.model_name or _params_model_name(root),
        from_env=args.from_env,
        from_commit=args.from_commit,
        image_name=args.image_name,
        approver=_approver(args, root),
        run_url=args.run_url or _run_url(),
        dry_run=args.dry_run,
        push=args.push,
        remote=args.remote,
        branch=args.branch,
        max_retries=args.max_retries,
        identity=identity,
        trusted=frozenset(email.strip().lower() for email in trusted),
        attestation=Identity(args.verify_attestation) if args.verify_attestation else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        opts = parse_options(argv)
    except LighthouseError as exc:
        print(f"promote: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        release, commit = promote(opts)
    except GitError as exc:
        print(f"promote: {exc}", file=sys.stderr)
        return EXIT_GIT
    except LighthouseError as exc:
        print(f"promote: refused: {exc}\npromote: nothing was changed", file=sys.stderr)
        return EXIT_REFUSED
    if opts.dry_run:
        return EXIT_OK
    # No registry alias moves here: the commit only asks for the release, and a canary may still abort.
    # `python -m ci.verify` moves the environment's alias once the cluster runs it (docs/gitops.md).
    report_to_actions(release, commit, opts.env)
    return EXIT_OK


# --- small helpers ---------------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _required(path: Path | None) -> Path:
    if path is None:
        raise ReleaseError("a release fact file is missing")
    return path


def _under(root: Path, path: Path) -> Path:
    return path if path.is_absolute() else root / path


def _github_identity(branch: str) -> PushIdentity:
    from ci.github_api import GitHub

    pusher = resolve_push_identity(GitHub.from_env(), branch, os.environ.get("PROMOTION_APP_SLUG") or None)
    if pusher.notice:
        print(f"::notice title=Promotion identity::{pusher.notice}")
    return pusher


def _parse_identity(text: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*(.+?)\s*<([^<>\s]+@[^<>\s]+)>\s*", text)
    if not match:
        raise LighthouseError(f"--identity / ${IDENTITY_ENV}: expected 'Name <email>', got {text!r}")
    return match.group(1), match.group(2)


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def _backoff(attempt: int) -> float:
    """Exponential back-off with jitter, so racing promoters do not collide again in lock step."""
    jitter = 0.5 + secrets.randbelow(1000) / 1000
    return float(min(2.0, 0.05 * 2**attempt) * jitter)


def _params_model_name(root: Path) -> str | None:
    try:
        params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
        name = params["tracking"]["registered_model"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return str(name) if name else None


def _run_url() -> str | None:
    server, repo, run = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def _approver(args: argparse.Namespace, root: Path) -> str:
    if args.approver:
        return str(args.approver)
    if args.approver_from_run:
        from ci.github_api import GitHub

        run_id = os.environ.get("GITHUB_RUN_ID", "")
        if not run_id.isdigit():
            raise LighthouseError("--approver-from-run: GITHUB_RUN_ID is not set to a run number")
        approvers = GitHub.from_env().approvers(int(run_id))
        if approvers:
            return ", ".join(approvers)
    actor = os.environ.get("GITHUB_ACTOR")
    if actor:
        return actor
    proc = Git(root).run("config", "user.name", check=False)
    return proc.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
