"""The audit side of a promotion: who approved, step outputs for the workflow (no alias moves: test_promote_alias)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ci import promote
from tests.ci.fake_github import REPO, TOKEN, FakeGitHub, serve
from tests.ci.promote_fixtures import ACTIONS_VARS, REPOSITORY, GitOpsRepo, digest, facts_args, git, write_facts


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
