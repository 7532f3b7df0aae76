"""Verify that a promotion runs in the cluster; only then move the environment's MLflow alias and record it.

    python -m ci.verify staging                          # the last promotion of k8s/overlays/staging on HEAD
    python -m ci.verify production --commit <sha>        # a given promotion commit
    python -m ci.verify staging --timeout 0              # one look, no waiting

It waits (up to --timeout, polling every --interval) until Argo CD's Application is Synced and Healthy at the
promotion commit and the Rollout is Healthy with every pod of its stable ReplicaSet running the digest that
commit's release.json records (ci/verdict.py decides; ci/cluster.py reads). Verified: the alias for the environment
(`staging`, or `champion` for production) moves to the release's registry version, after checking that version's
sha256 tag is the release's model, and the verdict is recorded as a commit status `lighthouse/verify/<env>` on the
promotion commit. Aborted or degraded: the failed AnalysisRun metrics are printed, the status says failure, and no
alias moves. The promotion commit itself never moves an alias (a canary may still abort).

Exit status: 0 verified; 1 not verified (aborted, degraded, failed sync, wrong digest, deadline); 2 usage or
configuration; 3 superseded by a later promotion of the environment; 4 verified in the cluster, but the alias or
the commit status could not be recorded.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ci import registry
from ci.cluster import AppRef, Cluster, ClusterError
from ci.github_api import GitHub, run_url
from ci.gitrepo import Git
from ci.release_record import ENVIRONMENTS, RECORD_NAME, ReleaseRecord, loads
from ci.verdict import Expected, Outcome, Revision, Snapshot, Verdict, decide
from model.core.errors import LighthouseError

EXIT_VERIFIED = 0
EXIT_NOT_VERIFIED = 1
EXIT_USAGE = 2
EXIT_SUPERSEDED = 3
EXIT_RECORDING = 4
DEFAULT_OVERLAYS = "k8s/overlays"
DEFAULT_APPLICATIONS = "k8s/argocd"
#: Long enough for Argo CD's ~3 minute poll plus each environment's canary (docs/kubernetes.md): staging pauses
#: 2 minutes and analyses 5; production soaks 4 x 10 minutes with an analysis after each.
DEFAULT_TIMEOUT_S = {"staging": 30 * 60, "production": 90 * 60}
DEFAULT_INTERVAL_S = 15.0
STATUS_CONTEXT = "lighthouse/verify/{env}"
STATUS_STATES = {Outcome.VERIFIED: "success", Outcome.FAILED: "failure", Outcome.SUPERSEDED: "error"}


class UsageError(LighthouseError):
    """Nothing to verify, or the repository does not say where to look."""


@dataclass
class History:
    """How a revision Argo CD synced relates to the promotion commit, asked of git (cached per revision)."""

    git: Git
    commit: str
    record: str
    remote: str | None = "origin"
    _seen: dict[str, Revision] = field(default_factory=dict)

    def __call__(self, revision: str) -> Revision:
        if revision not in self._seen:
            self._seen[revision] = self._relate(revision)
        return self._seen[revision]

    def _relate(self, revision: str) -> Revision:
        if revision == self.commit:
            return Revision.SAME
        if not self._known(revision) and self.remote:
            fetch(self.git.root, self.remote)
        if not self._known(revision):
            return Revision.UNKNOWN
        if self.git.ok("merge-base", "--is-ancestor", revision, self.commit):
            return Revision.OLDER
        if self.git.ok("merge-base", "--is-ancestor", self.commit, revision):
            same = self.git.show(revision, self.record) == self.git.show(self.commit, self.record)
            return Revision.NEWER_SAME_RELEASE if same else Revision.NEWER_OTHER_RELEASE
        return Revision.UNKNOWN

    def _known(self, revision: str) -> bool:
        return self.git.ok("cat-file", "-e", f"{revision}^{{commit}}")


def fetch(root: Path, remote: str) -> None:
    """`git fetch REMOTE`, with the job's token as a header when the remote is this GitHub (not persisted anywhere)."""
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    url = subprocess.run(["git", "remote", "get-url", remote], cwd=root, capture_output=True, text=True, check=False)
    server, token = os.environ.get("GITHUB_SERVER_URL", ""), os.environ.get("GITHUB_TOKEN", "")
    if token and server and url.stdout.strip().startswith(server):
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        }
    subprocess.run(["git", "fetch", "--quiet", remote], cwd=root, env=env, capture_output=True, check=False)


def wait(
    look: Callable[[], Snapshot],
    expected: Expected,
    relation: Callable[[str], Revision],
    timeout_s: float,
    interval_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = print,
) -> Verdict:
    """Look until the verdict is final or the deadline passes; print what it waits for whenever that changes."""
    deadline = clock() + timeout_s
    said: tuple[str, ...] = ()
    while True:
        try:
            verdict = decide(expected, look(), relation)
        except ClusterError as exc:
            if not exc.transient:
                raise
            verdict = Verdict(Outcome.WAITING, (f"the Kubernetes API did not answer: {exc}",))
        if verdict.final:
            return verdict
        if clock() >= deadline:
            reasons = tuple(f"not verified within {timeout_s:g} s: {reason}" for reason in verdict.reasons)
            return Verdict(Outcome.FAILED, reasons, verdict.metrics)
        if verdict.reasons != said:
            said = verdict.reasons
            say("verify: waiting: " + "; ".join(said))
        sleep(max(0.0, min(interval_s, deadline - clock())))


# --- what to verify ------------------------------------------------------------------------------------------------


def promotion_commit(git: Git, record: str, commit: str | None) -> str:
    if commit:
        return git.resolve(commit)
    touching = git.commits_touching(record)
    if not touching:
        raise UsageError(f"{record}: no commit on HEAD records a release; nothing has been promoted there yet")
    return touching[0]


def application_ref(root: Path, env: str, directory: str = DEFAULT_APPLICATIONS) -> AppRef:
    """The Application that syncs `env`, as k8s/argocd/application-<env>.yaml names it."""
    path = root / directory / f"application-{env}.yaml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        metadata = document["metadata"]
        return AppRef(namespace=str(metadata.get("namespace") or "argocd"), name=str(metadata["name"]))
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{path}: cannot read the Application's name and namespace ({exc}); pass --application"
        ) from exc


def expected_release(git: Git, commit: str, record: str, env: str) -> tuple[Expected, ReleaseRecord]:
    text = git.show(commit, record)
    if text is None:
        raise UsageError(f"{commit[:12]}:{record}: no release record at that commit")
    release = loads(text, f"{commit[:12]}:{record}")
    return Expected(env, commit, release.image.repository, release.image.digest), release


# --- after the verdict -----------------------------------------------------------------------------------------------


def move_alias(release: ReleaseRecord, env: str) -> str:
    """Point the environment's alias at the verified release's version; say what happened."""
    alias = registry.ENVIRONMENT_ALIASES[env]
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri:
        return f"no MLFLOW_TRACKING_URI: registry alias {alias} left alone"
    if release.model.version is None:
        return f"the release records no registry version: registry alias {alias} left alone"
    name, version = release.model.name, release.model.version
    previous = registry.set_alias(name, alias, version, uri, sha256=release.model.sha256)
    return f"registry: {name} {alias} -> version {version} (was {previous or 'unset'})"


def record_status(expected: Expected, state: str, description: str) -> str:
    """A commit status on the promotion commit, when running in GitHub Actions with a token."""
    if not os.environ.get("GITHUB_REPOSITORY"):
        return "not in GitHub Actions: no commit status recorded"
    github = GitHub.from_env()
    if not github.token:
        return "no GITHUB_TOKEN: no commit status recorded"
    context = STATUS_CONTEXT.format(env=expected.environment)
    github.set_status(expected.commit, state, context, description, run_url())
    return f"commit status {context}: {state} on {expected.commit[:12]}"


def report(verdict: Verdict, expected: Expected, notes: Sequence[str] = ()) -> None:
    stream = sys.stdout if verdict.outcome is Outcome.VERIFIED else sys.stderr
    print(f"verify: {expected.environment} {verdict.outcome.value.upper()}: {expected.reference}", file=stream)
    for reason in verdict.reasons:
        print(f"  {reason}", file=stream)
    for metric in verdict.metrics:
        print(f"  analysis {metric}", file=stream)
    for note in notes:
        print(f"verify: {note}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(_summary(verdict, expected, notes))


def _summary(verdict: Verdict, expected: Expected, notes: Sequence[str]) -> str:
    lines = [
        f"### Verification of {expected.environment}: {verdict.outcome.value}",
        "",
        f"`{expected.reference}` from promotion commit `{expected.commit[:12]}`",
        "",
        *(f"- {reason}" for reason in verdict.reasons),
    ]
    if verdict.metrics:
        lines += ["", "| AnalysisRun | metric | phase | measured | message |", "|---|---|---|---|---|"]
        lines += [
            f"| {m.run} | {m.metric} | {m.phase} | {m.value or ''} | {m.message.replace('|', '/')} |"
            for m in verdict.metrics
        ]
    lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"


# --- command line ----------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ci.verify",
        description=__doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "exit status: 0 verified, 1 not verified, 2 usage/configuration, 3 superseded by a later promotion,\n"
            "4 verified but the alias or commit status could not be recorded."
        ),
    )
    parser.add_argument("env", choices=ENVIRONMENTS, help="the environment whose promotion to verify")
    parser.add_argument(
        "--commit", help="the promotion commit (default: the last commit of the overlay's release.json)"
    )
    parser.add_argument("--timeout", type=float, help="seconds to wait (default: 1800 staging, 5400 production)")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, help="seconds between looks (15)")
    parser.add_argument("--kubeconfig", type=Path, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: its current context)")
    parser.add_argument("--application", metavar="NAMESPACE/NAME", help="Argo CD Application (default: k8s/argocd)")
    parser.add_argument("--root", type=Path, help="repository root (default: the current git checkout)")
    parser.add_argument("--overlays", default=DEFAULT_OVERLAYS, help="overlays directory (default k8s/overlays)")
    parser.add_argument("--remote", default="origin", help="remote to fetch a revision this clone lacks (origin)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (args.timeout is not None and args.timeout < 0) or args.interval <= 0:
        print("verify: --timeout must be 0 or more and --interval more than 0", file=sys.stderr)
        return EXIT_USAGE
    try:
        root = (args.root or Path(Git(Path.cwd()).out("rev-parse", "--show-toplevel"))).resolve()
        git = Git(root)
        record = f"{args.overlays.strip('/')}/{args.env}/{RECORD_NAME}"
        commit = promotion_commit(git, record, args.commit)
        expected, release = expected_release(git, commit, record, args.env)
        app = _parse_app(args.application) if args.application else application_ref(root, args.env)
        cluster = Cluster.connect(args.kubeconfig, args.context)
    except LighthouseError as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    timeout = DEFAULT_TIMEOUT_S[args.env] if args.timeout is None else args.timeout
    print(
        f"verify: {args.env}: waiting up to {timeout:g} s for {expected.reference} (commit {commit[:12]}, {app.name})"
    )
    notes = [_safely(record_status, expected, "pending", f"waiting for {app.name} to run {expected.digest[:19]}")]
    try:
        verdict = wait(
            lambda: cluster.snapshot(app), expected, History(git, commit, record, args.remote), timeout, args.interval
        )
    except ClusterError as exc:
        print(f"verify: {exc}", file=sys.stderr)
        _safely(record_status, expected, "error", str(exc))
        return EXIT_USAGE
    return conclude(verdict, expected, release, notes)


def conclude(verdict: Verdict, expected: Expected, release: ReleaseRecord, notes: list[str]) -> int:
    """Alias (verified only) and commit status; print the verdict; the exit status."""
    code = {Outcome.VERIFIED: EXIT_VERIFIED, Outcome.SUPERSEDED: EXIT_SUPERSEDED}.get(
        verdict.outcome, EXIT_NOT_VERIFIED
    )
    state, description = (
        STATUS_STATES[verdict.outcome],
        verdict.reasons[0] if verdict.reasons else verdict.outcome.value,
    )
    if verdict.outcome is Outcome.VERIFIED:
        try:
            notes.append(move_alias(release, expected.environment))
            description = f"{expected.environment} runs {expected.digest[:19]}; {notes[-1]}"
        except LighthouseError as exc:
            notes.append(f"verified in the cluster, but the alias was not moved: {exc}")
            state, description, code = "error", notes[-1], EXIT_RECORDING
    elif verdict.metrics:
        description = f"{description}; " + "; ".join(
            f"{m.metric} {m.phase} {m.value or ''}".strip() for m in verdict.metrics
        )
    try:
        notes.append(record_status(expected, state, description))
    except LighthouseError as exc:
        notes.append(f"the commit status could not be recorded: {exc}")
        code = EXIT_RECORDING if code == EXIT_VERIFIED else code
    report(verdict, expected, [n for n in notes if n])
    return code


def _safely(action: Callable[..., str], *args: object) -> str:
    """A pending/error status is a courtesy: its failure is said, never fatal."""
    try:
        return action(*args)
    except LighthouseError as exc:
        return f"commit status not recorded: {exc}"


def _parse_app(value: str) -> AppRef:
    namespace, sep, name = value.partition("/")
    if not sep or not namespace or not name:
        raise UsageError(f"--application: expected NAMESPACE/NAME, got {value!r}")
    return AppRef(namespace, name)


if __name__ == "__main__":
    sys.exit(main())
