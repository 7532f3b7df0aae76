"""The audit side of a promotion: who approved, step outputs for the workflow, the registry alias hand-off."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from ci import promote
from tests.ci.fake_github import REPO, TOKEN, FakeGitHub, serve
from tests.ci.promote_fixtures import ACTIONS_VARS, REPOSITORY, GitOpsRepo, digest, facts_args, git, write_facts

REGISTRY_LANDED = importlib.util.find_spec("ci.registry") is not None


@pytest.fixture(autouse=True)
def _no_actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ACTIONS_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def staged(tmp_path: Path) -> tuple[GitOpsRepo, Path]:
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("alice")
    facts = write_facts(tmp_path / "facts", model_sha256="ab" * 32)
    image = f"{REPOSITORY}@{digest('one')}"
    assert promote.main(["--env", "staging", "--image", image, *facts_args(facts), "--root", str(clone)]) == 0
    return repo, clone


def approved_by(repo: GitOpsRepo) -> str:
    message = git(repo.origin, "log", "-1", "--format=%B", "main")
    match = re.search(r"^Approved-By: (.*)$", message, re.M)
    assert match, message
    return match.group(1)


@pytest.mark.parametrize(
    ("approvals", "expected"),
    [
        ([{"state": "approved", "user": {"login": "carol"}}, {"state": "rejected", "user": {"login": "eve"}}], "carol"),
        ([], "dave"),  # no reviewers configured: whoever dispatched the run
    ],
)
def test_the_approver_is_the_environment_reviewer(
    staged: tuple[GitOpsRepo, Path], monkeypatch: pytest.MonkeyPatch, approvals: list[dict[str, object]], expected: str
) -> None:
    repo, clone = staged
    state = FakeGitHub()
    state.approvals[42] = approvals
    with serve(state) as api:
        for key, value in {
            "GITHUB_API_URL": api,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_RUN_ID": "42",
            "GITHUB_ACTOR": "dave",
        }.items():
            monkeypatch.setenv(key, value)
        code = promote.main(
            ["--env", "production", "--from-env", "staging", "--approver-from-run", "--root", str(clone)]
        )
    assert code == 0
    assert approved_by(repo) == expected
    assert ("GET", f"/repos/{REPO}/actions/runs/42/approvals") in state.requests


def test_step_outputs_and_summary_for_the_workflow(
    staged: tuple[GitOpsRepo, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, clone = staged
    output, summary = tmp_path / "output", tmp_path / "summary"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert promote.main(["--env", "production", "--from-env", "staging", "--root", str(clone)]) == 0
    head = git(repo.origin, "rev-parse", "main")
    assert f"commit={head}\nchanged=true\nimage={REPOSITORY}@{digest('one')}\n" == output.read_text()
    assert "### Promotion to production" in summary.read_text()
    assert promote.main(["--env", "production", "--from-env", "staging", "--root", str(clone)]) == 0
    assert output.read_text().endswith("commit=\nchanged=false\n" + f"image={REPOSITORY}@{digest('one')}\n")


def test_without_a_tracking_server_the_registry_is_left_alone(
    staged: tuple[GitOpsRepo, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, clone = staged
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    assert promote.main(["--env", "production", "--from-env", "staging", "--root", str(clone)]) == 0
    assert "no MLflow tracking server" in capsys.readouterr().out


@pytest.mark.skipif(REGISTRY_LANDED, reason="ci.registry exists: the alias is moved for real")
def test_without_ci_registry_the_alias_is_skipped_not_failed(
    staged: tuple[GitOpsRepo, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, clone = staged
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert promote.main(["--env", "production", "--from-env", "staging", "--root", str(clone)]) == 0
    assert "ci.registry is not available" in capsys.readouterr().out


@pytest.mark.skipif(not REGISTRY_LANDED, reason="ci.registry (issue 3) has not landed")
def test_ci_registry_accepts_the_call_promote_makes() -> None:
    """promote calls `set_champion(model_name, version)`; the gates issue's function must accept exactly that."""
    registry = importlib.import_module("ci.registry")
    inspect.signature(registry.set_champion).bind("lighthouse-model", "3")
