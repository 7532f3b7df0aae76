"""`python -m ci.verify` end to end: real promotion commits (ci.promote in a real git repository), a real MLflow
registry (sqlite, registered versions), the kubernetes client against the real-shaped API of tests/ci/cluster.py
and the fake GitHub of tests/ci/fake_github.py. The alias moves when, and only when, the release is verified."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci import registry, verify
from ci.verdict import Expected, Outcome, Verdict
from tests.ci.cluster import SERVICE_ACCOUNT, FakeKube, objects, serve, write_kubeconfig
from tests.ci.fake_github import REPO, TOKEN, FakeGitHub
from tests.ci.fake_github import serve as serve_github
from tests.ci.promote_fixtures import ACTIONS_VARS, git
from tests.ci.releases import RELEASE_SHA256, Releases, two_promotions

CONTEXT = "lighthouse/verify/staging"


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One sqlite registry for the module (creating its schema takes seconds); each test registers its own model."""
    return f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"


@pytest.fixture
def releases(tmp_path: Path, uri: str, monkeypatch: pytest.MonkeyPatch) -> Releases:
    for name in (*ACTIONS_VARS, "KUBECONFIG", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return two_promotions(tmp_path, uri)


@dataclass
class Run:
    code: int
    out: str
    err: str
    github: FakeGitHub
    kube: FakeKube

    def statuses(self, commit: str) -> list[tuple[str, str]]:
        return [(s["context"], s["state"]) for s in self.github.statuses.get(commit, [])]


@contextmanager
def world(
    releases: Releases, scenes: list[str], monkeypatch: pytest.MonkeyPatch, **values: str
) -> Iterator[tuple[FakeKube, FakeGitHub, list[str]]]:
    kube = FakeKube([objects(s, **{**releases.values, **values}) for s in scenes], tokens={"t": SERVICE_ACCOUNT})
    github = FakeGitHub()
    with serve(kube) as kube_url, serve_github(github) as api:
        kubeconfig = write_kubeconfig(releases.clone.parent / "kubeconfig", kube_url, "t")
        for key, value in {
            "MLFLOW_TRACKING_URI": releases.uri,
            "GITHUB_API_URL": api,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": "77",
        }.items():
            monkeypatch.setenv(key, value)
        yield kube, github, ["--root", str(releases.clone), "--kubeconfig", str(kubeconfig), "--interval", "0.05"]


def run_verify(
    releases: Releases,
    scenes: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
    **values: str,
) -> Run:
    with world(releases, scenes, monkeypatch, **values) as (kube, github, args):
        code = verify.main(["staging", *args, "--timeout", "0", *extra])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err, github, kube)


def test_a_verified_release_moves_the_alias_and_records_success(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert releases.alias(registry.STAGING_ALIAS) == "2"
    run = run_verify(releases, ["healthy"], monkeypatch, capsys)
    assert run.code == verify.EXIT_VERIFIED, run.err
    assert releases.alias(registry.STAGING_ALIAS) == "3"
    assert releases.alias(registry.CHAMPION_ALIAS) is None  # staging never touches production's alias
    assert run.statuses(releases.commit) == [(CONTEXT, "pending"), (CONTEXT, "success")]
    final = run.github.statuses[releases.commit][-1]
    assert final["target_url"] == f"https://github.example/{REPO}/actions/runs/77"
    assert "staging -> version 3 (was 2)" in final["description"]
    assert "VERIFIED" in run.out
    assert f"{releases.model} staging -> version 3 (was 2)" in run.out
    assert run.kube.denied == []


@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("progressing", "not verified within 0 s: Rollout model-server is Progressing"),
        ("deadline-exceeded", "has timed out progressing"),
        ("aborted", "analysis prediction-psi: Failed, measured [2.8347]"),
        ("wrong-digest", "not sha256:"),
        ("other-revision", "not yet at the promotion commit"),
        ("paused-inconclusive", "analysis prediction-psi: Inconclusive"),
    ],
)
def test_an_unverified_release_moves_no_alias_and_records_failure(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], scenario: str, says: str
) -> None:
    run = run_verify(releases, [scenario], monkeypatch, capsys)
    assert run.code == verify.EXIT_NOT_VERIFIED
    assert says in run.err
    assert releases.alias(registry.STAGING_ALIAS) == "2"
    assert run.statuses(releases.commit) == [(CONTEXT, "pending"), (CONTEXT, "failure")]


def test_the_failed_status_names_the_failed_metric(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = run_verify(releases, ["aborted"], monkeypatch, capsys)
    description = run.github.statuses[releases.commit][-1]["description"]
    assert description.startswith("Rollout model-server is Degraded: RolloutAborted")
    assert len(description) <= 140
    assert "| model-server-7c6b9d8f54-4-2 | prediction-psi | Failed | [2.8347] |" in summary.read_text()


def test_it_waits_through_the_canary_and_then_verifies(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Argo CD has not synced yet, then the canary runs, then it is done: one run of ci.verify sees all three."""
    with world(releases, ["other-revision", "progressing", "healthy"], monkeypatch) as (_kube, _github, args):
        code = verify.main(["staging", *args, "--timeout", "120"])
    out = capsys.readouterr().out
    assert code == verify.EXIT_VERIFIED
    assert "waiting: Application lighthouse-staging is synced at" in out
    assert "waiting: Application lighthouse-staging health is Progressing" in out
    assert releases.alias(registry.STAGING_ALIAS) == "3"


def test_a_later_promotion_supersedes_and_moves_no_alias(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    later = releases.promote("staging", "later release", "ef" * 32, "1")
    # This job's checkout predates it: drop the later commit from the clone, so ci.verify has to fetch it.
    git(releases.clone, "reset", "--quiet", "--hard", releases.commit)
    git(releases.clone, "update-ref", "-d", "refs/remotes/origin/main")
    git(releases.clone, "reflog", "expire", "--expire=now", "--all")
    git(releases.clone, "gc", "--quiet", "--prune=now")
    assert subprocess.run(["git", "cat-file", "-e", later], cwd=releases.clone, check=False).returncode != 0
    run = run_verify(
        releases, ["other-revision"], monkeypatch, capsys, "--commit", releases.commit, PREVIOUS_COMMIT=later
    )
    assert run.code == verify.EXIT_SUPERSEDED
    assert "a later promotion of staging" in run.err
    assert releases.alias(registry.STAGING_ALIAS) == "2"
    assert run.statuses(releases.commit)[-1] == (CONTEXT, "error")


def test_a_later_commit_that_keeps_the_release_still_verifies(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Argo CD syncs the tip of main: a docs commit after the promotion is the same release."""
    (releases.clone / "notes.txt").write_text("an unrelated change after the promotion\n")
    git(releases.clone, "commit", "--quiet", "-am", "docs")
    tip = git(releases.clone, "rev-parse", "HEAD")
    run = run_verify(releases, ["healthy"], monkeypatch, capsys, COMMIT=tip)
    assert run.code == verify.EXIT_VERIFIED, run.err
    assert run.statuses(releases.commit)[-1] == (CONTEXT, "success")  # recorded on the promotion, not the tip


def test_a_registry_version_of_another_model_gets_no_alias(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Provenance across record and registry: version 3 must be the artifact release.json names."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=releases.uri)
    client.set_model_version_tag(releases.model, "3", registry.MODEL_SHA256_TAG, "00" * 32)
    run = run_verify(releases, ["healthy"], monkeypatch, capsys)
    assert run.code == verify.EXIT_RECORDING
    assert f"has sha256 tag {'00' * 32}, but the release records {RELEASE_SHA256}" in run.out
    assert releases.alias(registry.STAGING_ALIAS) == "2"
    assert run.statuses(releases.commit)[-1] == (CONTEXT, "error")


def test_without_a_registry_or_github_it_still_verifies(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with world(releases, ["healthy"], monkeypatch) as (_kube, github, args):
        for name in ("MLFLOW_TRACKING_URI", "GITHUB_REPOSITORY"):
            monkeypatch.delenv(name)
        code = verify.main(["staging", *args, "--timeout", "0"])
    out = capsys.readouterr().out
    assert code == verify.EXIT_VERIFIED
    assert "no MLFLOW_TRACKING_URI: registry alias staging left alone" in out
    assert "not in GitHub Actions: no commit status recorded" in out
    assert github.statuses == {}


def test_forbidden_credentials_are_a_configuration_error(
    releases: Releases, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with world(releases, ["healthy"], monkeypatch) as (kube, github, args):
        kube.tokens = {"t": kube.tokens["t"].__class__("system:anonymous", ())}
        code = verify.main(["staging", *args, "--timeout", "30"])
    assert code == verify.EXIT_USAGE
    assert "HTTP 403" in capsys.readouterr().err
    assert releases.alias(registry.STAGING_ALIAS) == "2"
    assert [s["state"] for s in github.statuses[releases.commit]] == ["pending", "error"]


def test_nothing_promoted_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], releases: Releases
) -> None:
    assert verify.main(["production", "--root", str(releases.clone), "--timeout", "0"]) == verify.EXIT_USAGE
    assert "nothing has been promoted there yet" in capsys.readouterr().err


def test_production_moves_the_champion(releases: Releases, monkeypatch: pytest.MonkeyPatch) -> None:
    """The alias per environment: a verified production release moves `champion`, not `staging`."""
    from ci.release_record import loads

    monkeypatch.setenv("MLFLOW_TRACKING_URI", releases.uri)
    text = git(releases.clone, "show", f"{releases.commit}:k8s/overlays/staging/release.json")
    release = loads(text, "release.json").for_environment("production")
    expected = Expected("production", releases.commit, release.image.repository, release.image.digest)
    code = verify.conclude(Verdict(Outcome.VERIFIED, ("ok",)), expected, release, [])
    assert code == verify.EXIT_VERIFIED
    assert releases.alias(registry.CHAMPION_ALIAS) == "3"
    assert releases.alias(registry.STAGING_ALIAS) == "2"
