"""`python -m ci.consistency`: git, a real MLflow registry and the cluster (the kubernetes client against the
real-shaped API of tests/ci/cluster.py) compared, and the one GitHub issue opened, updated and closed (fake GitHub)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ci import consistency, registry
from ci.consistency import MISSING, ClusterFacts, RegistryFacts, differences
from ci.release_record import loads
from tests.ci.cluster import SERVICE_ACCOUNT, VALUES, FakeKube, objects, serve, write_kubeconfig
from tests.ci.fake_github import REPO, TOKEN, FakeGitHub
from tests.ci.fake_github import serve as serve_github
from tests.ci.promote_fixtures import ACTIONS_VARS, git
from tests.ci.releases import PREVIOUS_SHA256, RELEASE_SHA256, Releases, two_promotions

DIGEST, PREVIOUS = VALUES["DIGEST"], VALUES["PREVIOUS_DIGEST"]


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"


@pytest.fixture
def releases(tmp_path: Path, uri: str, monkeypatch: pytest.MonkeyPatch) -> Releases:
    for name in (*ACTIONS_VARS, "KUBECONFIG", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config of the machine's
    return two_promotions(tmp_path, uri)


def release_of(releases: Releases):  # type: ignore[no-untyped-def]
    return loads(git(releases.clone, "show", "HEAD:k8s/overlays/staging/release.json"), "release.json")


# --- the comparison ----------------------------------------------------------------------------------------------


def test_agreeing_sources_have_no_difference(releases: Releases) -> None:
    release = release_of(releases)
    facts = RegistryFacts("staging", "3", RELEASE_SHA256)
    assert differences("staging", release, facts, ClusterFacts(True, "Healthy", None, frozenset({DIGEST}))) == []
    assert differences("staging", release, None, None) == []  # nothing configured: nothing to disagree with
    assert (
        differences(
            "production", None, RegistryFacts("champion", None, None), ClusterFacts(False, None, None, frozenset())
        )
        == []
    )


@pytest.mark.parametrize(
    ("registry_facts", "cluster", "says"),
    [
        (
            RegistryFacts("staging", "2", RELEASE_SHA256),
            None,
            "alias `staging` names version 2, k8s/overlays/staging/release.json records version 3",
        ),
        (RegistryFacts("staging", None, RELEASE_SHA256), None, "alias `staging` names version nothing"),
        (RegistryFacts("staging", "3", MISSING), None, "records verified-model-"),
        (RegistryFacts("staging", "3", PREVIOUS_SHA256), None, f"has sha256 {PREVIOUS_SHA256}"),
        (
            None,
            ClusterFacts(True, "Degraded", "RolloutAborted: ...", frozenset({PREVIOUS})),
            f"stable pods run {PREVIOUS}",
        ),
        (None, ClusterFacts(True, "Healthy", None, frozenset({DIGEST, PREVIOUS})), "records " + DIGEST),
        (None, ClusterFacts(False, None, None, frozenset()), "no Rollout found in the cluster"),
        (None, ClusterFacts(True, "Paused", "InconclusiveAnalysisRun", frozenset({DIGEST})), "the Rollout is Paused"),
    ],
    ids=lambda v: "" if not isinstance(v, str) else v[:30],
)
def test_each_disagreement_is_named(
    releases: Releases, registry_facts: RegistryFacts | None, cluster: ClusterFacts | None, says: str
) -> None:
    (found,) = differences("staging", release_of(releases), registry_facts, cluster)
    assert found.startswith("staging: ")
    assert says in found


def test_a_rollout_in_flight_is_not_judged(releases: Releases) -> None:
    cluster = ClusterFacts(True, "Progressing", "more replicas need to be updated", frozenset({PREVIOUS}))
    assert differences("staging", release_of(releases), None, cluster) == []


def test_without_a_release_what_runs_is_a_difference() -> None:
    found = differences(
        "production",
        None,
        RegistryFacts("champion", "4", None),
        ClusterFacts(True, "Healthy", None, frozenset({DIGEST})),
    )
    assert found == [
        "production: registry alias `champion` names version 4, but git has no k8s/overlays/production/release.json",
        f"production: the cluster runs {DIGEST}, but git has no k8s/overlays/production/release.json",
    ]


# --- end to end, with the issue ----------------------------------------------------------------------------------


@contextmanager
def sources(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, kube: FakeKube
) -> Iterator[list[str]]:
    with serve(kube) as kube_url, serve_github(github) as api:
        kubeconfig = write_kubeconfig(releases.clone.parent / "kubeconfig", kube_url, "t")
        for key, value in {
            "MLFLOW_TRACKING_URI": releases.uri,
            "GITHUB_API_URL": api,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_SERVER_URL": "https://github.example",
        }.items():
            monkeypatch.setenv(key, value)
        yield ["--root", str(releases.clone), "--kubeconfig", str(kubeconfig), "--issue"]


def check(releases: Releases, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, scenario: str, run: int) -> int:
    kube = FakeKube([objects(scenario, **releases.values)], tokens={"t": SERVICE_ACCOUNT})
    monkeypatch.setenv("GITHUB_RUN_ID", str(run))
    with sources(releases, monkeypatch, github, kube) as args:
        code = consistency.main(args)
    assert kube.denied == []
    return code


def test_one_issue_is_opened_updated_and_closed(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    github = FakeGitHub()
    # The canary of version 3 aborted: the cluster runs the previous release and the alias still names version 2.
    assert check(releases, monkeypatch, github, "aborted", run=1) == consistency.EXIT_DIFFERENT
    (issue,) = github.issues
    assert issue["state"] == "open"
    assert [label["name"] for label in issue["labels"]] == [consistency.LABEL]
    body = issue["body"]
    assert body.startswith(consistency.MARKER)
    assert (
        "- staging: registry alias `staging` names version 2, k8s/overlays/staging/release.json records version 3"
        in body
    )
    assert (
        f"- staging: the cluster's stable pods run {PREVIOUS}, k8s/overlays/staging/release.json records {DIGEST}"
        in body
    )
    assert "(Rollout Degraded: RolloutAborted" in body
    assert "production" not in body.replace("lighthouse-production", "")  # nothing promoted there, nothing running
    assert "opened issue #100" in capsys.readouterr().out

    # Second run: git rolled forward to the release that runs, but someone pointed the alias at version 1 by hand.
    # Still different, differently: the same issue, its list replaced.
    git(releases.clone, "revert", "--no-edit", releases.commit)
    registry.set_alias(releases.model, registry.STAGING_ALIAS, "1", releases.uri)
    assert check(releases, monkeypatch, github, "other-revision", run=2) == consistency.EXIT_DIFFERENT
    (issue,) = github.issues
    assert issue["state"] == "open"
    listed = [line for line in issue["body"].splitlines() if line.startswith("- ")]
    assert listed == [
        "- staging: registry alias `staging` names version 1, k8s/overlays/staging/release.json records version 2"
    ]
    assert "runs/2" in issue["body"]
    assert "updated issue #100" in capsys.readouterr().out


def test_consistent_again_closes_the_issue_with_a_comment(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    github = FakeGitHub()
    assert check(releases, monkeypatch, github, "aborted", run=1) == consistency.EXIT_DIFFERENT
    registry.set_alias(releases.model, registry.STAGING_ALIAS, "3", releases.uri)  # what ci.verify does when verified
    assert check(releases, monkeypatch, github, "healthy", run=2) == consistency.EXIT_CONSISTENT
    (issue,) = github.issues
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    (comment,) = github.comments
    assert comment["issue"] == issue["number"]
    assert "agree again" in comment["body"]
    assert "closed issue #100" in capsys.readouterr().out
    assert check(releases, monkeypatch, github, "healthy", run=3) == consistency.EXIT_CONSISTENT
    assert len(github.issues) == 1
    assert len(github.comments) == 1
    # A new disagreement later opens a new issue: the closed one stays the record of the old one.
    registry.set_alias(releases.model, registry.STAGING_ALIAS, "1", releases.uri)
    assert check(releases, monkeypatch, github, "healthy", run=4) == consistency.EXIT_DIFFERENT
    assert [i["state"] for i in github.issues] == ["closed", "open"]


def test_a_version_holding_another_model_is_named(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=releases.uri)
    client.set_model_version_tag(releases.model, "3", registry.MODEL_SHA256_TAG, "00" * 32)
    registry.set_alias(releases.model, registry.STAGING_ALIAS, "3", releases.uri)
    github = FakeGitHub()
    assert check(releases, monkeypatch, github, "healthy", run=1) == consistency.EXIT_DIFFERENT
    (issue,) = github.issues
    assert f"registry version 3 of {releases.model} has sha256 {'00' * 32}" in issue["body"]


def test_unconfigured_sources_are_skipped_and_said(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert consistency.main(["--root", str(releases.clone)]) == consistency.EXIT_CONSISTENT
    out = capsys.readouterr().out
    assert "no cluster credentials: the cluster was not compared" in out
    assert "no MLFLOW_TRACKING_URI: the registry was not compared" in out
