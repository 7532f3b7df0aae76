"""One sticky PR comment with the PR report, posted safely for pull requests from forks.

The `pr` workflow runs the PR's code with a read-only token, so it cannot comment. It runs `prepare`, which packs
the report, the PR number and the head commit into an artifact. The `pr-comment` workflow (trusted code from the
default branch, a token that can write comments, never the PR's code) runs `post`: it treats the artifact as
untrusted data, checks the PR number is an integer whose PR head is the commit the run tested, and creates or
updates the one comment that starts with the marker.

    python -m ci.pr_comment prepare --pr 12 --head-sha <sha> --report reports/pr_report.md --out pr-comment
    python -m ci.pr_comment post --input pr-comment/comment.json --head-sha <sha> --repo owner/name

Standard library only: `post` runs on the runner's python with nothing installed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ci.github_api import GitHub, GitHubError
from model.core.errors import LighthouseError

MARKER = "<!-- lighthouse-pr-report -->"
COMMENT_FILE = "comment.json"
BOT_LOGIN = "github-actions[bot]"
MAX_BODY_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
MAX_INPUT_BYTES = 1_000_000
SHA_PATTERN = re.compile(r"^[0-9a-f]{40}$")


class CommentError(LighthouseError):
    """The artifact or the arguments are not what a `pr` run produces."""


def prepare(pr: int, head_sha: str, report: Path, out: Path, run_url: str | None, summary: Path | None) -> Path:
    """Write `out/comment.json` for the trusted workflow; append the report to the job summary when asked."""
    _check_sha(head_sha, "--head-sha")
    if report.is_file():
        body = report.read_text(encoding="utf-8")
    else:
        where = f" ([the run]({run_url}))" if run_url else ""
        body = f"{MARKER}\n## PR report\n\nNo report: the `pr` run stopped before `make report`{where}.\n"
    if summary is not None:
        with summary.open("a", encoding="utf-8") as handle:
            handle.write(body if body.endswith("\n") else body + "\n")
    out.mkdir(parents=True, exist_ok=True)
    target = out / COMMENT_FILE
    target.write_text(json.dumps({"pr": pr, "head_sha": head_sha, "body": body}, sort_keys=True) + "\n")
    return target


def load_artifact(path: Path, head_sha: str) -> tuple[int, str]:
    """(PR number, body) from an artifact written by `prepare`, validated as untrusted input."""
    _check_sha(head_sha, "--head-sha")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CommentError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if len(raw) > MAX_INPUT_BYTES:
        raise CommentError(f"{path}: {len(raw)} bytes, more than the {MAX_INPUT_BYTES} a report may have")
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommentError(f"{path}: not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CommentError(f"{path}: expected a JSON object")
    pr = data.get("pr")
    if not isinstance(pr, int) or isinstance(pr, bool) or not 0 < pr < 10**9:
        raise CommentError(f"{path}: pr: expected a positive integer, got {pr!r}")
    if data.get("head_sha") != head_sha:
        raise CommentError(f"{path}: head_sha: {data.get('head_sha')!r} is not the commit this run tested ({head_sha})")
    body = data.get("body")
    if not isinstance(body, str):
        raise CommentError(f"{path}: body: expected a string")
    return pr, body


def compose(body: str, run_url: str | None, conclusion: str | None) -> str:
    """The marker first (so the comment can be found again), the report, a footer; capped at GitHub's limit."""
    text = body.removeprefix(MARKER).lstrip("\n")
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS] + "\n\n… (truncated; the full report is in the run's artifacts)\n"
    footer = []
    if conclusion:
        footer.append(f"`pr` run: **{_word(conclusion)}**")
    if run_url:
        footer.append(f"[run, artifacts and job summary]({run_url})")
    return f"{MARKER}\n{text.rstrip()}\n\n---\n<sub>{' · '.join(footer) or 'PR report'}</sub>\n"


def post(github: GitHub, pr: int, head_sha: str, body: str, author: str = BOT_LOGIN) -> str:
    """Create or update the one marker comment; return what was done."""
    pull = github.request("GET", f"/repos/{github.repo}/pulls/{pr}")
    current = (pull or {}).get("head", {}).get("sha")
    if current != head_sha:
        return f"skipped: PR #{pr} head is {current}, this run tested {head_sha} (a newer run will comment)"
    for comment in github.paginate(f"/repos/{github.repo}/issues/{pr}/comments"):
        login = (comment.get("user") or {}).get("login")
        if login == author and str(comment.get("body", "")).startswith(MARKER):
            github.request("PATCH", f"/repos/{github.repo}/issues/comments/{int(comment['id'])}", {"body": body})
            return f"updated comment {comment['id']} on #{pr}"
    created = github.request("POST", f"/repos/{github.repo}/issues/{pr}/comments", {"body": body})
    return f"created comment {(created or {}).get('id')} on #{pr}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ci.pr_comment", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="(untrusted `pr` job) pack the report for the comment workflow")
    prep.add_argument("--pr", type=int, required=True, help="pull request number")
    prep.add_argument("--head-sha", required=True, help="the PR head commit the run tested")
    prep.add_argument("--report", type=Path, default=Path("reports/pr_report.md"), help="default reports/pr_report.md")
    prep.add_argument("--out", type=Path, required=True, help="directory to upload as the artifact")
    prep.add_argument("--run-url", help="link to the run, shown when the report is missing")
    prep.add_argument("--summary", type=Path, help="also append the report here (e.g. $GITHUB_STEP_SUMMARY)")
    send = sub.add_parser("post", help="(trusted comment job) create or update the sticky comment")
    send.add_argument("--input", type=Path, required=True, help="comment.json from the artifact")
    send.add_argument("--head-sha", required=True, help="the head commit from the workflow_run event (trusted)")
    send.add_argument("--repo", help="OWNER/NAME (default GITHUB_REPOSITORY)")
    send.add_argument("--run-url", help="link to the `pr` run")
    send.add_argument("--conclusion", help="the `pr` run's conclusion")
    send.add_argument("--author", default=BOT_LOGIN, help=f"login that owns the sticky comment (default {BOT_LOGIN})")
    send.add_argument("--dry-run", action="store_true", help="print the comment instead of posting it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "prepare":
            target = prepare(args.pr, args.head_sha, args.report, args.out, args.run_url, args.summary)
            print(f"pr_comment: wrote {target}")
            return 0
        pr, body = load_artifact(args.input, args.head_sha)
        text = compose(body, args.run_url, args.conclusion)
        if args.dry_run:
            print(f"pr_comment: would post on #{pr}:\n{text}")
            return 0
        github = GitHub.from_env(args.repo)
        if not github.token:
            raise CommentError("GITHUB_TOKEN is not set")
        print(f"pr_comment: {post(github, pr, args.head_sha, text, args.author)}")
        return 0
    except (LighthouseError, GitHubError) as exc:
        print(f"pr_comment: {exc}", file=sys.stderr)
        return 1


def _check_sha(value: str, name: str) -> None:
    if not SHA_PATTERN.match(value):
        raise CommentError(f"{name}: expected a 40-hex commit SHA, got {value!r}")


def _word(value: str) -> str:
    return re.sub(r"[^a-z_]", "", value.lower())[:20] or "unknown"


if __name__ == "__main__":
    sys.exit(main())
