"""The few GitHub REST calls the workflows need, with the standard library only.

Only the standard library, because the sticky-comment job runs it with the runner's own python and no
dependencies installed: that job holds a write token and must not install or run anything from the pull request.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from model.core.errors import LighthouseError

DEFAULT_API_URL = "https://api.github.com"
REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
PAGE_SIZE = 100
TIMEOUT_S = 30


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
