"""The few GitHub REST calls the workflows need, with the standard library only.

Only the standard library, because the sticky-comment job runs it with the runner's own python and no
dependencies installed: that job holds a write token and must not install or run anything from the pull request.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from model.core.errors import LighthouseError

DEFAULT_API_URL = "https://api.github.com"
REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
PAGE_SIZE = 100
TIMEOUT_S = 30
STATUS_STATES = ("error", "failure", "pending", "success")
#: GitHub truncates nothing: a longer commit-status description is refused (HTTP 422).
STATUS_DESCRIPTION_MAX = 140


class GitHubError(LighthouseError):
    """A GitHub API call failed or answered something unexpected."""


@dataclass(frozen=True)
class GitHub:
    repo: str
    token: str | None = None
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, repo: str | None = None) -> GitHub:
        """Repository, token and API address from the variables a GitHub Actions job has."""
        repo = repo or os.environ.get("GITHUB_REPOSITORY", "")
        if not REPO_PATTERN.match(repo):
            raise GitHubError(f"repository: expected OWNER/NAME, got {repo!r}")
        token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
        return cls(repo=repo, token=token, api_url=os.environ.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/"))

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.api_url}{path}"
        if not url.startswith(("https://", "http://")):
            raise GitHubError(f"API URL must be http(s): {url!r}")
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310  checked above
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as response:  # noqa: S310  checked above
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise GitHubError(f"{method} {path}: HTTP {exc.code}: {detail}") from exc
        except urllib.error.URLError as exc:
            raise GitHubError(f"{method} {path}: {exc.reason}") from exc
        return json.loads(payload) if payload else None

    def paginate(self, path: str) -> Iterator[Any]:
        """Items of a list endpoint, page by page until a short page."""
        separator = "&" if "?" in path else "?"
        page = 1
        while True:
            items = self.request("GET", f"{path}{separator}per_page={PAGE_SIZE}&page={page}")
            if not isinstance(items, list):
                raise GitHubError(f"GET {path}: expected a list, got {type(items).__name__}")
            yield from items
            if len(items) < PAGE_SIZE:
                return
            page += 1

    def approvers(self, run_id: int) -> list[str]:
        """Who approved the protected-environment deployments of a workflow run (needs `actions: read`)."""
        logins = [
            str(item["user"]["login"])
            for item in self.request("GET", f"/repos/{self.repo}/actions/runs/{run_id}/approvals") or []
            if item.get("state") == "approved" and isinstance(item.get("user"), dict)
        ]
        return sorted(set(logins))

    def set_status(self, sha: str, state: str, context: str, description: str, target_url: str | None = None) -> Any:
        """A commit status on `sha` (needs `statuses: write`): how ci.verify records its verdict on a promotion."""
        if state not in STATUS_STATES:
            raise GitHubError(f"commit status: state must be one of {', '.join(STATUS_STATES)}, got {state!r}")
        short = (
            description
            if len(description) <= STATUS_DESCRIPTION_MAX
            else description[: STATUS_DESCRIPTION_MAX - 1] + "…"
        )
        body: dict[str, Any] = {"state": state, "context": context, "description": short}
        if target_url:
            body["target_url"] = target_url
        return self.request("POST", f"/repos/{self.repo}/statuses/{sha}", body)

    def open_issues(self, label: str) -> list[dict[str, Any]]:
        """Open issues (not pull requests) carrying `label`."""
        path = f"/repos/{self.repo}/issues?state=open&labels={urllib.parse.quote(label)}"
        return [item for item in self.paginate(path) if isinstance(item, dict) and "pull_request" not in item]

    def create_issue(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        created = self.request("POST", f"/repos/{self.repo}/issues", {"title": title, "body": body, "labels": labels})
        return dict(created)

    def update_issue(self, number: int, **fields: Any) -> dict[str, Any]:
        """PATCH an issue: `body=...`, `state="closed"`, `state_reason="completed"`..."""
        return dict(self.request("PATCH", f"/repos/{self.repo}/issues/{number}", fields))

    def comment(self, number: int, body: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/repos/{self.repo}/issues/{number}/comments", {"body": body}))


def run_url() -> str | None:
    """This workflow run's page, from the variables GitHub Actions sets; None elsewhere."""
    server, repo, run = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None
