"""Is a promotion live? The decision, from the objects the cluster serves; no I/O here.

In: the promotion (commit, image digest) and one snapshot of the cluster as the Kubernetes API serves it (plain
dicts): Argo CD's Application, the Argo Rollouts Rollout, its ReplicaSets, Pods and AnalysisRuns. Out: a verdict,

- VERIFIED: the Application is Synced and Healthy at the promotion commit (or a later commit with the same release
  record), the Rollout is Healthy and fully promoted, and every pod of its stable ReplicaSet runs exactly the
  release's digest (the pods' `containerStatuses[].imageID`, what the node pulled, not what the spec asked for);
- WAITING, with what is not there yet (ci/verify.py polls again until its deadline, then calls it FAILED);
- FAILED: aborted or Degraded (with the failed AnalysisRun metrics), a failed sync, a wrong digest;
- SUPERSEDED: a later promotion of the same environment is what Argo CD syncs now.

The rules follow Argo Rollouts' own (`utils/rollout/rolloututil.go`: GetRolloutPhase, IsFullyPromoted) and Argo CD's
Rollout health check (`resource_customizations/argoproj.io/Rollout/health.lua`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Manifest = Mapping[str, Any]

#: The label Argo Rollouts puts on each ReplicaSet, its pods and its AnalysisRuns.
POD_TEMPLATE_HASH = "rollouts-pod-template-hash"
#: AnalysisRun phases that are not a pass (analysis_types.go: AnalysisPhase).
UNSUCCESSFUL = ("Failed", "Error", "Inconclusive")


class Outcome(StrEnum):
    VERIFIED = "verified"
    WAITING = "waiting"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class Revision(StrEnum):
    """How the revision Argo CD synced relates to the promotion commit (ci/verify.py asks git)."""

    SAME = "same"
    OLDER = "older"  # an ancestor: Argo CD has not picked the promotion up yet
    NEWER_SAME_RELEASE = "newer, same release"  # a later commit that left the overlay's release.json alone
    NEWER_OTHER_RELEASE = "newer, other release"  # a later promotion of the same environment
    UNKNOWN = "unknown"  # not in the history this clone knows


@dataclass(frozen=True)
class Expected:
    """What the promotion commit says must run."""

    environment: str
    commit: str
    repository: str
    digest: str

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class Snapshot:
    """The objects one look at the cluster returned (None: not found)."""

    application: Manifest | None
    rollout: Manifest | None
    replica_sets: Sequence[Manifest] = ()
    pods: Sequence[Manifest] = ()
    analysis_runs: Sequence[Manifest] = ()


@dataclass(frozen=True)
class MetricResult:
    """One metric of an AnalysisRun: what a person needs to see why a canary was stopped."""

    run: str
    metric: str
    phase: str
    message: str
    value: str | None

    def __str__(self) -> str:
        measured = f", measured {self.value}" if self.value is not None else ""
        return f"{self.metric}: {self.phase}{measured} ({self.message}) [AnalysisRun {self.run}]"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reasons: tuple[str, ...]
    #: The metrics of the release's AnalysisRuns: the unsuccessful ones when it failed, all when verified.
    metrics: tuple[MetricResult, ...] = field(default=())

    @property
    def final(self) -> bool:
        return self.outcome is not Outcome.WAITING


def decide(
    expected: Expected, snapshot: Snapshot, relation: Callable[[str], Revision], *, timed_out: bool = False
) -> Verdict:
    """The verdict on one snapshot; `timed_out` turns WAITING into FAILED (the wait was bounded)."""
    verdict = _decide(expected, snapshot, relation)
    if verdict.outcome is Outcome.WAITING and timed_out:
        return Verdict(
            Outcome.FAILED, tuple(f"not verified before the deadline: {r}" for r in verdict.reasons), verdict.metrics
        )
    return verdict


def _decide(expected: Expected, snap: Snapshot, relation: Callable[[str], Revision]) -> Verdict:
    app = snap.application
    if app is None:
        return _waiting("the Argo CD Application was not found")
    app_name = _get(app, "metadata", "name")
    status = _get(app, "status") or {}
    revision = str(_get(status, "sync", "revision") or "")
    if not revision:
        return _waiting(f"Application {app_name} has not synced any revision yet")
    related = relation(revision)
    if related is Revision.NEWER_OTHER_RELEASE:
        return Verdict(
            Outcome.SUPERSEDED,
            (f"Application {app_name} syncs {revision[:12]}, a later promotion of {expected.environment}",),
        )
    if related in (Revision.OLDER, Revision.UNKNOWN):
        return _waiting(
            f"Application {app_name} is synced at {revision[:12]} ({related}), not yet at the promotion commit "
            f"{expected.commit[:12]}"
        )
    operation = _get(status, "operationState") or {}
    if operation.get("phase") in ("Failed", "Error") and _operation_revision(operation) == revision:
        return _failed(f"Argo CD's sync of {revision[:12]} {operation['phase']}: {operation.get('message', '')}")

    reasons: list[str] = []
    sync_status = _get(status, "sync", "status") or "Unknown"
    if sync_status != "Synced":
        reasons.append(f"Application {app_name} is {sync_status}, not Synced")
    health = _get(status, "health", "status") or "Unknown"
    app_healthy = health == "Healthy"
    if not app_healthy:
        message = _get(status, "health", "message")
        reasons.append(f"Application {app_name} health is {health}" + (f": {message}" if message else ""))

    rollout = snap.rollout
    if rollout is None:
        return _waiting(*reasons, "the Rollout was not found")
    verdict = _judge_rollout(expected, snap, rollout, settled=sync_status == "Synced" and app_healthy)
    if verdict.final:
        return verdict
    reasons += verdict.reasons
    if reasons:
        return Verdict(Outcome.WAITING, tuple(reasons), verdict.metrics)
    summary = (
        f"Application {app_name} is Synced and Healthy at {revision[:12]}; Rollout {_get(rollout, 'metadata', 'name')} "
        f"is Healthy and every pod of its stable ReplicaSet runs {expected.reference}"
    )
    return Verdict(Outcome.VERIFIED, (summary,), verdict.metrics)


def _judge_rollout(expected: Expected, snap: Snapshot, rollout: Manifest, *, settled: bool) -> Verdict:
    """FAILED or WAITING (with reasons) from the Rollout and its pods; WAITING with no reason means all is well."""
    name = _get(rollout, "metadata", "name")
    status = _get(rollout, "status") or {}
    if not _generation_observed(rollout):
        return _waiting(f"Rollout {name}: the controller has not observed its new spec yet")
    current = status.get("currentPodHash")
    results = analysis_results(snap.analysis_runs, name, current)
    unsuccessful = tuple(r for r in results if r.phase in UNSUCCESSFUL)
    images = container_images(_get(rollout, "spec", "template") or {})
    phase, message = status.get("phase") or "", status.get("message") or ""
    healthy = phase == "Healthy" and bool(status.get("stableRS")) and status.get("stableRS") == current
    if expected.reference not in images:
        wrong = f"Rollout {name} runs {', '.join(images) or 'no image'}, not {expected.reference}"
        return _failed(f"{wrong} (git and the cluster disagree)") if settled and healthy else _waiting(wrong)
    if status.get("abort") or phase == "Degraded":
        state = phase or "aborted"
        return _failed(f"Rollout {name} is {state}" + (f": {message}" if message else ""), metrics=unsuccessful)
    if phase == "Paused":
        hint = (
            "; an inconclusive analysis waits for a person (kubectl argo rollouts promote/abort)"
            if any(r.phase == "Inconclusive" for r in unsuccessful)
            else ""
        )
        return _waiting(f"Rollout {name} is Paused: {message or 'paused'}{hint}", metrics=unsuccessful)
    if not healthy:
        return _waiting(f"Rollout {name} is {phase or 'without a phase yet'}" + (f": {message}" if message else ""))
    wrong_digest, not_ready = _check_stable_pods(expected, snap, rollout)
    if wrong_digest:
        return _failed(*wrong_digest)
    return Verdict(Outcome.WAITING, tuple(not_ready), results)


def _check_stable_pods(expected: Expected, snap: Snapshot, rollout: Manifest) -> tuple[list[str], list[str]]:
    """(wrong digests, not-ready reasons) for the pods of the Rollout's stable ReplicaSet."""
    stable = _get(rollout, "status", "stableRS")
    replica_set = next(
        (
            rs
            for rs in snap.replica_sets
            if _labels(rs).get(POD_TEMPLATE_HASH) == stable
            and _owned_by(rs, "Rollout", _get(rollout, "metadata", "name"))
        ),
        None,
    )
    if replica_set is None:
        return [], [f"the stable ReplicaSet (hash {stable}) was not found"]
    rs_name = _get(replica_set, "metadata", "name")
    live = [p for p in snap.pods if not _get(p, "metadata", "deletionTimestamp")]
    pods = [p for p in live if _owned_by(p, "ReplicaSet", rs_name)]
    others = sorted(_get(p, "metadata", "name") for p in live if not _owned_by(p, "ReplicaSet", rs_name))
    wrong: list[str] = []
    waiting: list[str] = []
    if not pods:
        waiting.append(f"ReplicaSet {rs_name} has no pods yet")
    for pod in pods:
        pod_name = _get(pod, "metadata", "name")
        ran = running_digests(pod, expected.repository)
        if not ran:
            waiting.append(f"pod {pod_name} is not running {expected.repository} yet")
        elif ran != {expected.digest}:
            wrong.append(f"pod {pod_name} of ReplicaSet {rs_name} runs {', '.join(sorted(ran))}, not {expected.digest}")
        elif not _ready(pod):
            waiting.append(f"pod {pod_name} is not Ready")
    if others:
        waiting.append(f"pods of other ReplicaSets are still running: {', '.join(others)}")
    return wrong, waiting


def running_digests(pod: Manifest, repository: str | None) -> set[str]:
    """Digests the node reports for the pod's running containers of `repository` (all, if None): their `imageID`.

    `imageID` reads `repo@sha256:...`, `docker-pullable://repo@sha256:...` or, for an image that never came from a
    registry, a bare image id `sha256:...`; whatever follows the last `@` (or the id itself) is what ran.
    """
    specs = {c.get("name"): str(c.get("image", "")) for c in _get(pod, "spec", "containers") or []}
    digests: set[str] = set()
    for container in _get(pod, "status", "containerStatuses") or []:
        image = specs.get(container.get("name"), "")
        if repository is not None and image.split("@")[0] != repository:
            continue
        if "running" not in (container.get("state") or {}):
            continue
        image_id = str(container.get("imageID") or "")
        if image_id:
            digests.add(image_id.rsplit("@", 1)[-1].removeprefix("docker://"))
    return digests


def stable_pods(snap: Snapshot) -> list[Manifest]:
    """The live pods of the Rollout's stable ReplicaSet (by its pod-template hash)."""
    stable = _get(snap.rollout or {}, "status", "stableRS")
    return [
        p
        for p in snap.pods
        if stable and _labels(p).get(POD_TEMPLATE_HASH) == stable and not _get(p, "metadata", "deletionTimestamp")
    ]


def analysis_results(runs: Iterable[Manifest], rollout: str | None, pod_hash: str | None) -> tuple[MetricResult, ...]:
    """Every metric of the Rollout's AnalysisRuns for `pod_hash` (the release being rolled out), oldest run first."""
    mine = [
        run
        for run in runs
        if _owned_by(run, "Rollout", rollout) and pod_hash and _labels(run).get(POD_TEMPLATE_HASH) == pod_hash
    ]
    mine.sort(key=lambda run: (str(_get(run, "metadata", "creationTimestamp") or ""), _get(run, "metadata", "name")))
    results: list[MetricResult] = []
    for run in mine:
        run_name = str(_get(run, "metadata", "name"))
        run_message = str(_get(run, "status", "message") or "")
        for metric in _get(run, "status", "metricResults") or []:
            measurements = metric.get("measurements") or []
            last = measurements[-1] if measurements else {}
            name = str(metric.get("name"))
            message = metric.get("message") or last.get("message")
            if not message and f'"{name}"' in run_message:
                message = run_message
            if not message:
                message = (
                    f"{metric.get('failed', 0)} failed, {metric.get('inconclusive', 0)} inconclusive, "
                    f"{metric.get('error', 0)} errors of {metric.get('count', 0)} measurements"
                )
            value = last.get("value")
            results.append(MetricResult(run_name, name, str(metric.get("phase")), str(message), value))
    return tuple(results)


def container_images(template: Manifest) -> list[str]:
    return [str(c.get("image", "")) for c in _get(template, "spec", "containers") or []]


# --- small readers -------------------------------------------------------------------------------------------


def _waiting(*reasons: str, metrics: tuple[MetricResult, ...] = ()) -> Verdict:
    return Verdict(Outcome.WAITING, tuple(reasons), metrics)


def _failed(*reasons: str, metrics: tuple[MetricResult, ...] = ()) -> Verdict:
    return Verdict(Outcome.FAILED, tuple(reasons), metrics)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _labels(obj: Manifest) -> Mapping[str, str]:
    return _get(obj, "metadata", "labels") or {}


def _owned_by(obj: Manifest, kind: str, name: str | None) -> bool:
    return any(
        ref.get("kind") == kind and ref.get("name") == name and ref.get("controller", False)
        for ref in _get(obj, "metadata", "ownerReferences") or []
    )


def _generation_observed(rollout: Manifest) -> bool:
    """As Argo Rollouts' isGenerationObserved: status.observedGeneration (a string) equals metadata.generation."""
    observed = str(_get(rollout, "status", "observedGeneration") or "")
    generation = _get(rollout, "metadata", "generation")
    if not observed.isdigit():
        return bool(observed)  # a pre-1.0 hash: observed whenever present
    return generation is None or int(observed) >= int(generation)


def _ready(pod: Manifest) -> bool:
    if _get(pod, "status", "phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in _get(pod, "status", "conditions") or [])


def _operation_revision(operation: Manifest) -> str:
    return str(_get(operation, "syncResult", "revision") or _get(operation, "operation", "sync", "revision") or "")
