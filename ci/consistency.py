"""Do git, the registry and the cluster agree? A scheduled look that keeps one GitHub issue naming each difference.

    python -m ci.consistency            # print the differences; exit 1 when there are any
    python -m ci.consistency --issue    # also open, update or close the one issue (in GitHub Actions)

For each environment: git's record (`k8s/overlays/<env>/release.json` on HEAD), the registry (the environment's
alias, the recorded version and that version's sha256 tag) and the cluster (the digests the stable pods of the
Rollout run, as their imageID says) must say the same. A source that is not configured (no MLFLOW_TRACKING_URI, no
cluster credentials) is skipped and said so. A Rollout still Progressing is in flight and not judged.

The issue: one open issue labelled `lighthouse-consistency`, found by the marker in its body. Differences and no
issue: it is opened. Differences and the issue: its body is replaced by the current list. No difference and the
issue: a comment says so and the issue is closed (completed); the next difference opens a new one.

Exit status: 0 consistent, 1 differences, 2 configuration or API error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ci import registry
from ci.cluster import Cluster
from ci.github_api import GitHub, run_url
from ci.gitrepo import Git
from ci.release_record import ENVIRONMENTS, RECORD_NAME, ReleaseRecord, loads
from ci.verdict import running_digests, stable_pods
from ci.verify import application_ref
from model.core.errors import LighthouseError

EXIT_CONSISTENT = 0
EXIT_DIFFERENT = 1
EXIT_ERROR = 2
LABEL = "lighthouse-consistency"
MARKER = "<!-- lighthouse-consistency -->"
TITLE = "Git, the model registry and the cluster disagree"


@dataclass(frozen=True)
class RegistryFacts:
    alias: str
    alias_version: str | None
    #: The recorded version's sha256 tag; `None` when it has none, `MISSING` when the version does not exist.
    version_sha256: str | None


MISSING = "<missing>"


@dataclass(frozen=True)
class ClusterFacts:
    rollout_found: bool
    phase: str | None
    message: str | None
    digests: frozenset[str]


def differences(
    env: str, release: ReleaseRecord | None, registry_facts: RegistryFacts | None, cluster: ClusterFacts | None
) -> list[str]:
    """Each disagreement between git's release record and what the registry and cluster say, as one sentence."""
    record = f"k8s/overlays/{env}/{RECORD_NAME}"
    found: list[str] = []
    if release is None:
        if registry_facts is not None and registry_facts.alias_version is not None:
            found.append(
                f"{env}: registry alias `{registry_facts.alias}` names version {registry_facts.alias_version}, "
                f"but git has no {record}"
            )
        if cluster is not None and cluster.digests:
            found.append(f"{env}: the cluster runs {_digests(cluster.digests)}, but git has no {record}")
        return found
    name, version = release.model.name, release.model.version
    if registry_facts is not None and version is not None:
        if registry_facts.version_sha256 == MISSING:
            found.append(f"{env}: {record} records {name} version {version}, which the registry does not have")
        elif registry_facts.version_sha256 != release.model.sha256:
            found.append(
                f"{env}: registry version {version} of {name} has sha256 {registry_facts.version_sha256 or 'unset'}, "
                f"{record} records {release.model.sha256}"
            )
        if registry_facts.alias_version != version:
            found.append(
                f"{env}: registry alias `{registry_facts.alias}` names version "
                f"{registry_facts.alias_version or 'nothing'}, {record} records version {version}"
            )
    if cluster is not None and cluster.phase != "Progressing":
        if not cluster.rollout_found:
            found.append(f"{env}: no Rollout found in the cluster, {record} records {release.image.digest}")
        elif cluster.digests != {release.image.digest}:
            state = f" (Rollout {cluster.phase}: {cluster.message})" if cluster.phase != "Healthy" else ""
            found.append(
                f"{env}: the cluster's stable pods run {_digests(cluster.digests)}, {record} records "
                f"{release.image.digest}{state}"
            )
        elif cluster.phase not in ("Healthy", None):
            found.append(f"{env}: the Rollout is {cluster.phase}: {cluster.message}")
    return found


def issue_body(found: Sequence[str], checked_by: str | None) -> str:
    lines = [
        MARKER,
        "The scheduled consistency check (`python -m ci.consistency`, workflow `consistency`) found that git, the "
        "model registry and the cluster do not say the same:",
        "",
        *(f"- {line}" for line in found),
        "",
        "What usually fixes it: after a canary abort, roll git forward (`git revert` the promotion commit, "
        "docs/kubernetes.md); an alias behind its release: run the `verify` workflow for that environment; a "
        "registry version that holds another model: promote a release whose record names the right version.",
        "",
        f"Last checked by {checked_by or 'a local run'}. Updated on every check; closed once they agree.",
    ]
    return "\n".join(lines) + "\n"


def sync_issue(github: GitHub, found: Sequence[str], checked_by: str | None) -> str:
    """Open, update or close the one consistency issue; say which."""
    mine = [i for i in github.open_issues(LABEL) if MARKER in str(i.get("body") or "")]
    if found:
        body = issue_body(found, checked_by)
        if not mine:
            created = github.create_issue(TITLE, body, [LABEL])
            return f"opened issue #{created['number']}"
        issue = mine[0]
        if issue.get("body") != body:
            github.update_issue(int(issue["number"]), body=body)
            return f"updated issue #{issue['number']}"
        return f"issue #{issue['number']} already says this"
    for issue in mine:
        number = int(issue["number"])
        github.comment(
            number, f"Git, the registry and the cluster agree again (checked by {checked_by or 'a local run'})."
        )
        github.update_issue(number, state="closed", state_reason="completed")
    return f"closed issue #{mine[0]['number']}" if mine else "consistent; no issue open"


# --- gathering the facts ---------------------------------------------------------------------------------------------


def release_on_head(git: Git, env: str) -> ReleaseRecord | None:
    rel = f"k8s/overlays/{env}/{RECORD_NAME}"
    text = git.show("HEAD", rel)
    return loads(text, f"HEAD:{rel}") if text is not None else None


def registry_facts(env: str, release: ReleaseRecord | None, model_name: str | None) -> RegistryFacts | None:
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    name = release.model.name if release is not None else model_name
    if not uri or not name:
        return None
    alias = registry.ENVIRONMENT_ALIASES[env]
    sha256: str | None = None
    if release is not None and release.model.version is not None:
        try:
            sha256 = registry.version_sha256(name, release.model.version, uri)
        except registry.RegistryError:
            sha256 = MISSING
    return RegistryFacts(alias, registry.alias_version(name, alias, uri), sha256)


def cluster_facts(cluster: Cluster, root: Path, env: str, release: ReleaseRecord | None) -> ClusterFacts:
    snap = cluster.snapshot(application_ref(root, env))
    if snap.rollout is None:
        return ClusterFacts(False, None, None, frozenset())
    status = snap.rollout.get("status") or {}
    repository = release.image.repository if release is not None else None
    digests = frozenset(d for pod in stable_pods(snap) for d in running_digests(pod, repository))
    return ClusterFacts(True, status.get("phase"), status.get("message"), digests)


def cluster_configured(kubeconfig: Path | None) -> bool:
    default = Path(os.path.expanduser("~/.kube/config"))
    return bool(
        kubeconfig or os.environ.get("KUBECONFIG") or default.exists() or os.environ.get("KUBERNETES_SERVICE_HOST")
    )


def _digests(digests: frozenset[str]) -> str:
    return ", ".join(sorted(digests)) or "nothing"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ci.consistency", description=__doc__.split("\n\n")[2] if __doc__ else None
    )
    parser.add_argument("--issue", action="store_true", help="open, update or close the GitHub issue (needs a token)")
    parser.add_argument("--env", action="append", choices=ENVIRONMENTS, help="check only this environment (repeatable)")
    parser.add_argument("--kubeconfig", type=Path, help="kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument("--model-name", default=None, help="registered model (default: the one the releases name)")
    parser.add_argument("--root", type=Path, help="repository root (default: the current git checkout)")
    args = parser.parse_args(argv)
    found: list[str] = []
    notes: list[str] = []
    try:
        root = (args.root or Path(Git(Path.cwd()).out("rev-parse", "--show-toplevel"))).resolve()
        git = Git(root)
        cluster = Cluster.connect(args.kubeconfig, args.context) if cluster_configured(args.kubeconfig) else None
        if cluster is None:
            notes.append("no cluster credentials: the cluster was not compared")
        if not os.environ.get("MLFLOW_TRACKING_URI"):
            notes.append("no MLFLOW_TRACKING_URI: the registry was not compared")
        releases = {env: release_on_head(git, env) for env in args.env or ENVIRONMENTS}
        named = [r.model.name for r in releases.values() if r is not None]
        model_name = args.model_name or (named[0] if named else None)
        for env, release in releases.items():
            facts = cluster_facts(cluster, root, env, release) if cluster is not None else None
            if facts is not None and facts.phase == "Progressing":
                notes.append(f"{env}: a rollout is in progress; the cluster was not judged")
            found += differences(env, release, registry_facts(env, release, model_name), facts)
        for note in notes:
            print(f"consistency: {note}")
        for line in found:
            print(f"consistency: {line}", file=sys.stderr)
        if args.issue:
            print(f"consistency: {sync_issue(GitHub.from_env(), found, run_url())}")
    except LighthouseError as exc:
        print(f"consistency: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"consistency: {'DIFFERENT' if found else 'consistent'} ({len(found)} difference(s))")
    return EXIT_DIFFERENT if found else EXIT_CONSISTENT


if __name__ == "__main__":
    sys.exit(main())
