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
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ci import overlay
from ci.gitrepo import Git, GitError
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

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_GIT = 3
DEFAULT_OVERLAYS = "k8s/overlays"
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
    staging_rel = opts.record_rel("staging")
    for sha in git.commits_touching(staging_rel):
        text = git.show(sha, staging_rel)
        try:
            earlier = loads(text, f"{sha[:12]}:{staging_rel}") if text else None
        except ReleaseError:
            continue  # an unreadable old record cannot vouch for anything
        if earlier is not None and earlier.identity == release.identity:
            return
    shallow = git.out("rev-parse", "--is-shallow-repository") == "true"
    hint = " (this clone is shallow: fetch the full history, e.g. fetch-depth: 0)" if shallow else ""
    raise RefusedError(
        f"{staging_rel}: no commit in history records image {release.image.digest} with model sha256 "
        f"{release.model.sha256}; a release must run in staging before production{hint}"
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
    record_path = target / RECORD_NAME
    old_record = record_path.read_text(encoding="utf-8") if record_path.exists() else None
    return Plan(opts.root, target, release, old, new, old_record, release.dumps())


# --- writing, committing, pushing --------------------------------------------------------------------------------


def apply_plan(plan: Plan, git: Git, message: str) -> str:
    """Write both files, prove the overlay renders, commit; on any failure put both files back as they were."""
    originals = {path: path.read_bytes() if path.exists() else None for path in (plan.kustomization, plan.record_path)}
    try:
        _write(plan.kustomization, plan.new_kustomization)
        _write(plan.record_path, plan.new_record)
        rendered = overlay.render(plan.overlay)
        if rendered is not None:
            overlay.check_rendered(plan.overlay, rendered, plan.release.image.reference)
        git.run("add", "--", *plan.paths)
        git.run(*git.identity_args(), "commit", "--quiet", "--file=-", "--", *plan.paths, stdin=message)
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
    git = Git(opts.root)
    target_rel = [f"{opts.overlays}/{opts.env}/{overlay.KUSTOMIZATION}", opts.record_rel(opts.env)]
    if not opts.dry_run and git.status(*target_rel):
        raise RefusedError(f"{', '.join(target_rel)}: uncommitted changes; commit or discard them first")
    pushing = opts.push and not opts.dry_run
    branch = opts.branch or git.current_branch()
    if pushing and branch is None:
        raise RefusedError("HEAD is detached; name the branch to push to with --branch")
    base = sync_with_remote(git, opts.remote, branch) if pushing and branch else git.head()
    release = resolve_release(opts, git)
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
        commit = apply_plan(plan, git, commit_message(release, opts, restored_from))
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
