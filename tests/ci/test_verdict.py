"""ci.verdict on real-shaped Application, Rollout, ReplicaSet, Pod and AnalysisRun objects (see cluster_objects/)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from ci.verdict import Expected, Outcome, Revision, Snapshot, Verdict, decide, running_digests
from tests.ci.cluster import REPOSITORY, SCENARIOS, VALUES, objects, snapshot, snapshot_of

EXPECTED = Expected("staging", VALUES["COMMIT"], REPOSITORY, VALUES["DIGEST"])
HISTORY = {VALUES["COMMIT"]: Revision.SAME, VALUES["PREVIOUS_COMMIT"]: Revision.OLDER}


def relation(revision: str) -> Revision:
    return HISTORY.get(revision, Revision.UNKNOWN)


def verdict(snap: Snapshot, *, timed_out: bool = False, related: Callable[[str], Revision] = relation) -> Verdict:
    return decide(EXPECTED, snap, related, timed_out=timed_out)


def changed(scenario: str, edit: Callable[[Snapshot], object]) -> Snapshot:
    snap = copy.deepcopy(snapshot(scenario))
    edit(snap)
    return snap


def test_every_scenario_is_one_moment_of_the_same_release() -> None:
    """The fixtures name the same objects: one Application, one Rollout, owned parts (so a test can't pass by typo)."""
    assert set(SCENARIOS) >= {
        "healthy",
        "progressing",
        "deadline-exceeded",
        "aborted",
        "wrong-digest",
        "other-revision",
    }
    for scenario in SCENARIOS:
        snap = snapshot(scenario)
        assert snap.application is not None
        assert snap.application["metadata"]["name"] == "lighthouse-staging"
        assert snap.rollout is not None
        assert snap.rollout["metadata"]["name"] == "model-server"
        rs_names = {rs["metadata"]["name"] for rs in snap.replica_sets}
        for pod in snap.pods:
            (owner,) = pod["metadata"]["ownerReferences"]
            assert owner["name"] in rs_names, f"{scenario}: {pod['metadata']['name']} owned by an unlisted ReplicaSet"


def test_healthy_is_verified_with_its_analysis() -> None:
    result = verdict(snapshot("healthy"))
    assert result.outcome is Outcome.VERIFIED, result.reasons
    assert f"every pod of its stable ReplicaSet runs {EXPECTED.reference}" in result.reasons[0]
    assert {(m.metric, m.phase, m.value) for m in result.metrics} == {
        ("success-rate", "Successful", "[0.9991]"),
        ("prediction-psi", "Successful", "[0.0043]"),
    }


def test_a_later_commit_with_the_same_release_still_verifies() -> None:
    """Argo CD syncs the branch tip: a docs commit after the promotion must not block verification."""
    result = verdict(snapshot("healthy"), related=lambda _: Revision.NEWER_SAME_RELEASE)
    assert result.outcome is Outcome.VERIFIED


def test_progressing_waits_then_fails_past_the_deadline() -> None:
    waiting = verdict(snapshot("progressing"))
    assert waiting.outcome is Outcome.WAITING
    assert any("Rollout model-server is Progressing: more replicas need to be updated" in r for r in waiting.reasons)
    assert any("health is Progressing" in r for r in waiting.reasons)
    late = verdict(snapshot("progressing"), timed_out=True)
    assert late.outcome is Outcome.FAILED
    assert all(r.startswith("not verified before the deadline: ") for r in late.reasons)
    assert any("Progressing" in r for r in late.reasons)


def test_progress_deadline_abort_is_a_failure_now() -> None:
    result = verdict(snapshot("deadline-exceeded"))
    assert result.outcome is Outcome.FAILED
    (reason,) = result.reasons
    assert reason.startswith("Rollout model-server is Degraded: RolloutAborted")
    assert 'ReplicaSet "model-server-7c6b9d8f54" has timed out progressing.' in reason
    assert result.metrics == ()  # no analysis ever ran


def test_aborted_canary_fails_naming_the_failed_metric() -> None:
    result = verdict(snapshot("aborted"))
    assert result.outcome is Outcome.FAILED
    assert "Degraded" in result.reasons[0]
    assert "prediction-psi" in result.reasons[0]
    (metric,) = result.metrics  # only what failed: success-rate and latency-p99 passed
    assert (metric.run, metric.metric, metric.phase, metric.value) == (
        "model-server-7c6b9d8f54-4-2",
        "prediction-psi",
        "Failed",
        "[2.8347]",
    )
    assert metric.message == 'Metric "prediction-psi" assessed Failed due to failed (2) > failureLimit (1)'
    assert "prediction-psi: Failed, measured [2.8347]" in str(metric)


def test_a_wrong_digest_on_the_nodes_fails() -> None:
    result = verdict(snapshot("wrong-digest"))
    assert result.outcome is Outcome.FAILED
    assert len(result.reasons) == 2
    assert all(VALUES["OTHER_DIGEST"] in r and f"not {VALUES['DIGEST']}" in r for r in result.reasons)
    assert {r.split()[1] for r in result.reasons} == {"model-server-7c6b9d8f54-4xq2p", "model-server-7c6b9d8f54-9kz7m"}


def test_a_rollout_pinned_to_another_image_than_the_release() -> None:
    """Synced, Healthy and finished, but the spec runs another image than release.json: git and cluster disagree."""

    def pin_previous(snap: Snapshot) -> None:
        assert snap.rollout is not None
        snap.rollout["spec"]["template"]["spec"]["containers"][0]["image"] = f"{REPOSITORY}@{VALUES['PREVIOUS_DIGEST']}"

    result = verdict(changed("healthy", pin_previous))
    assert result.outcome is Outcome.FAILED
    assert "git and the cluster disagree" in result.reasons[0]
    assert VALUES["PREVIOUS_DIGEST"] in result.reasons[0]


def test_synced_at_another_revision_waits_then_fails() -> None:
    waiting = verdict(snapshot("other-revision"))
    assert waiting.outcome is Outcome.WAITING
    (reason,) = waiting.reasons
    assert f"synced at {VALUES['PREVIOUS_COMMIT'][:12]} (older)" in reason
    assert f"promotion commit {VALUES['COMMIT'][:12]}" in reason
    assert verdict(snapshot("other-revision"), timed_out=True).outcome is Outcome.FAILED
    unknown = verdict(snapshot("other-revision"), related=lambda _: Revision.UNKNOWN)
    assert unknown.outcome is Outcome.WAITING
    assert "(unknown)" in unknown.reasons[0]


def test_a_later_promotion_supersedes() -> None:
    result = verdict(snapshot("other-revision"), related=lambda _: Revision.NEWER_OTHER_RELEASE)
    assert result.outcome is Outcome.SUPERSEDED
    assert "a later promotion of staging" in result.reasons[0]


def test_inconclusive_analysis_waits_for_a_person_and_names_the_metric_at_the_deadline() -> None:
    waiting = verdict(snapshot("paused-inconclusive"))
    assert waiting.outcome is Outcome.WAITING
    assert any("Paused: InconclusiveAnalysisRun" in r and "waits for a person" in r for r in waiting.reasons)
    late = verdict(snapshot("paused-inconclusive"), timed_out=True)
    assert late.outcome is Outcome.FAILED
    (metric,) = late.metrics
    assert (metric.metric, metric.phase, metric.value) == ("prediction-psi", "Inconclusive", "[]")
    assert "inconclusive (3) > inconclusiveLimit (2)" in metric.message


def test_a_failed_sync_of_the_promotion_fails() -> None:
    def fail_sync(snap: Snapshot) -> None:
        assert snap.application is not None
        snap.application["status"]["operationState"].update(
            phase="Failed", message="one or more objects failed to apply, reason: admission webhook denied the request"
        )
        snap.application["status"]["sync"]["status"] = "OutOfSync"

    result = verdict(changed("healthy", fail_sync))
    assert result.outcome is Outcome.FAILED
    assert "sync of" in result.reasons[0]
    assert "Failed: one or more objects failed to apply" in result.reasons[0]


@pytest.mark.parametrize(
    ("what", "edit", "expected_reason"),
    [
        (
            "spec not observed",
            lambda s: s.rollout["status"].update(observedGeneration="11"),
            "not observed its new spec",
        ),
        (
            "out of sync",
            lambda s: s.application["status"]["sync"].update(status="OutOfSync"),
            "is OutOfSync, not Synced",
        ),
        (
            "pod not ready",
            lambda s: s.pods[0]["status"]["conditions"][1].update(status="False"),
            "model-server-7c6b9d8f54-4xq2p is not Ready",
        ),
        (
            "pod not started",
            lambda s: s.pods[0]["status"]["containerStatuses"][0].update(
                state={"waiting": {"reason": "ContainerCreating"}}
            ),
            "is not running ghcr.io/acme/lighthouse yet",
        ),
        ("no pods", lambda s: s.pods.clear(), "has no pods yet"),
        ("no stable ReplicaSet", lambda s: s.replica_sets.clear(), "stable ReplicaSet (hash 7c6b9d8f54) was not found"),
        ("no Rollout", lambda s: object.__setattr__(s, "rollout", None), "the Rollout was not found"),
        ("no Application", lambda s: object.__setattr__(s, "application", None), "Application was not found"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_unfinished_states_wait(what: str, edit: Callable[[Snapshot], object], expected_reason: str) -> None:
    snap = copy.deepcopy(snapshot("healthy"))
    snap = Snapshot(snap.application, snap.rollout, list(snap.replica_sets), list(snap.pods), list(snap.analysis_runs))
    edit(snap)
    result = verdict(snap)
    assert result.outcome is Outcome.WAITING, what
    assert any(expected_reason in r for r in result.reasons), result.reasons
    assert verdict(snap, timed_out=True).outcome is Outcome.FAILED


def test_an_old_pod_still_running_holds_the_verdict_back() -> None:
    previous_pod = next(
        p for p in objects("progressing") if p["kind"] == "Pod" and "5d8f7c9b46" in p["metadata"]["name"]
    )
    items = [*objects("healthy"), previous_pod]
    result = verdict(snapshot_of(items))
    assert result.outcome is Outcome.WAITING
    assert result.reasons == ("pods of other ReplicaSets are still running: model-server-5d8f7c9b46-t8w3n",)
    previous_pod["metadata"]["deletionTimestamp"] = "2026-11-12T10:19:45Z"  # terminating pods do not count
    assert verdict(snapshot_of(items)).outcome is Outcome.VERIFIED


@pytest.mark.parametrize(
    ("image_id", "ran"),
    [
        (f"{REPOSITORY}@{VALUES['DIGEST']}", {VALUES["DIGEST"]}),  # containerd
        (f"docker-pullable://{REPOSITORY}@{VALUES['DIGEST']}", {VALUES["DIGEST"]}),  # Docker (fixture pod1.yaml)
        (VALUES["OTHER_DIGEST"], {VALUES["OTHER_DIGEST"]}),  # a bare image id: never the manifest digest
    ],
)
def test_image_id_formats(image_id: str, ran: set[str]) -> None:
    pod = copy.deepcopy(snapshot("healthy").pods[0])
    pod["status"]["containerStatuses"][0]["imageID"] = image_id
    assert running_digests(pod, REPOSITORY) == ran


def test_a_sidecar_of_another_image_is_not_the_model_server() -> None:
    """Only the containers of the release's repository are judged; a log-shipping sidecar may run anything."""
    snap = copy.deepcopy(snapshot("healthy"))
    for pod in snap.pods:
        pod["spec"]["containers"].append(
            {"name": "shipper", "image": "docker.io/timberio/vector@" + VALUES["OTHER_DIGEST"]}
        )
        pod["status"]["containerStatuses"].append(
            {
                "name": "shipper",
                "imageID": "docker.io/timberio/vector@" + VALUES["OTHER_DIGEST"],
                "state": {"running": {}},
            }
        )
    assert verdict(snap).outcome is Outcome.VERIFIED
