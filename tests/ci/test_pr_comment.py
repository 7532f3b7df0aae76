"""The sticky PR comment: packed by the untrusted job, validated and posted by the trusted one.

The tool runs as the workflow runs it (`python -m`), against tests/ci/fake_github.py on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci.pr_comment import MARKER
from tests.ci.fake_github import HEAD, REPO, TOKEN, FakeGitHub, serve
from tests.ci.promote_fixtures import clean_env


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, str]]:
    state = FakeGitHub()
    with serve(state) as url:
        yield state, url


def run(*args: str, api: str = "http://127.0.0.1:9") -> subprocess.CompletedProcess[str]:
    env = clean_env(GITHUB_TOKEN=TOKEN, GITHUB_API_URL=api, GITHUB_REPOSITORY=REPO)
    return subprocess.run(
        [sys.executable, "-m", "ci.pr_comment", *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def prepare(tmp_path: Path, report_text: str | None, pr: str = "7") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    report = tmp_path / "pr_report.md"
    if report_text is not None:
        report.write_text(report_text)
    summary = tmp_path / "summary.md"
    proc = run("prepare", "--pr", pr, "--head-sha", HEAD, "--report", str(report), "--out", str(tmp_path / "art"),
               "--summary", str(summary))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "art/comment.json"


def post(artifact: Path, api: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("post", "--input", str(artifact), "--head-sha", HEAD, "--conclusion", "success", *extra, api=api)


def test_one_sticky_comment_is_created_then_updated(tmp_path: Path, github: tuple[FakeGitHub, str]) -> None:
    state, api = github
    state.comments.append({"id": 1, "issue": 7, "body": f"{MARKER} quoted by a human", "user": {"login": "eve"}})
    state.comments.append({"id": 2, "issue": 7, "body": "unrelated bot note", "user": {"login": "github-actions[bot]"}})

    first = post(prepare(tmp_path / "1", f"{MARKER}\n## PR report\nroc_auc 0.70\n"), api)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    second = post(prepare(tmp_path / "2", f"{MARKER}\n## PR report\nroc_auc 0.71\n"), api)
    assert second.returncode == 0, second.stderr
    assert "updated" in second.stdout

    sticky = [c for c in state.comments if c["body"].startswith(MARKER) and c["user"]["login"] != "eve"]
    assert len(sticky) == 1
    assert "roc_auc 0.71" in sticky[0]["body"]
    assert "roc_auc 0.70" not in sticky[0]["body"]
    assert "**success**" in sticky[0]["body"]
    assert state.comments[0]["body"] == f"{MARKER} quoted by a human"  # a person's comment is never edited
    assert state.comments[1]["body"] == "unrelated bot note"
    assert (tmp_path / "2/summary.md").read_text() == f"{MARKER}\n## PR report\nroc_auc 0.71\n"


def test_comments_are_found_across_pages(tmp_path: Path, github: tuple[FakeGitHub, str]) -> None:
    state, api = github
    for n in range(150):
        state.comments.append({"id": 10 + n, "issue": 7, "body": f"chatter {n}", "user": {"login": "dev"}})
    assert post(prepare(tmp_path / "1", "first"), api).returncode == 0
    assert post(prepare(tmp_path / "2", "second"), api).returncode == 0
    bodies = [c["body"] for c in state.comments if c["body"].startswith(MARKER)]
    assert len(bodies) == 1
    assert "second" in bodies[0]


def test_a_missing_report_still_tells_the_author(tmp_path: Path, github: tuple[FakeGitHub, str]) -> None:
    state, api = github
    assert post(prepare(tmp_path, None), api).returncode == 0
    assert "No report" in state.comments[0]["body"]


def test_a_stale_run_does_not_comment(tmp_path: Path, github: tuple[FakeGitHub, str]) -> None:
    state, api = github
    state.heads[7] = "b" * 40  # the author pushed again; a newer run will comment
    proc = post(prepare(tmp_path, "report"), api)
    assert proc.returncode == 0
    assert "skipped" in proc.stdout
    assert state.comments == []


@pytest.mark.parametrize(
    ("artifact", "message"),
    [
        ({"pr": "7; curl evil", "head_sha": HEAD, "body": "x"}, "pr: expected a positive integer"),
        ({"pr": True, "head_sha": HEAD, "body": "x"}, "pr: expected a positive integer"),
        ({"pr": -1, "head_sha": HEAD, "body": "x"}, "pr: expected a positive integer"),
        ({"pr": 7, "head_sha": "c" * 40, "body": "x"}, "not the commit this run tested"),
        ({"pr": 7, "head_sha": HEAD, "body": ["x"]}, "body: expected a string"),
        ([7], "expected a JSON object"),
    ],
)
def test_untrusted_artifacts_are_validated(
    tmp_path: Path, github: tuple[FakeGitHub, str], artifact: object, message: str
) -> None:
    state, api = github
    path = tmp_path / "comment.json"
    path.write_text(json.dumps(artifact))
    proc = post(path, api)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert state.requests == []  # refused before any call


def test_long_reports_are_truncated_to_githubs_limit(tmp_path: Path, github: tuple[FakeGitHub, str]) -> None:
    state, api = github
    assert post(prepare(tmp_path, MARKER + "\n" + "x" * 100_000), api).returncode == 0
    body = state.comments[0]["body"]
    assert len(body) < 65_536
    assert "truncated" in body


def test_dry_run_needs_no_token_or_network(tmp_path: Path) -> None:
    proc = run("post", "--input", str(prepare(tmp_path, "hello")), "--head-sha", HEAD, "--dry-run")
    assert proc.returncode == 0
    assert f"would post on #7:\n{MARKER}\nhello" in proc.stdout
