"""GitHub's REST API as far as the workflows use it, served on 127.0.0.1 for the tests.

GitHub does not run here, so this answers the same paths with the same payload shapes and pagination: pull
requests, issues (list by label, create, update), issue comments (list, create, update), commit statuses and a
run's environment approvals. Requests need the token.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

REPO = "acme/lighthouse"
HEAD = "a" * 40
TOKEN = "test-token"


class FakeGitHub:
    """In-memory pull requests and issue comments behind GitHub's REST paths."""

    def __init__(self) -> None:
        self.heads: dict[int, str] = {7: HEAD}
        self.comments: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        #: run id → approvals, as GET /repos/{repo}/actions/runs/{id}/approvals returns them
        self.approvals: dict[int, list[dict[str, Any]]] = {}
        #: branch → the rules that apply to it (GET /repos/{repo}/rules/branches/{branch})
        self.branch_rules: dict[str, list[dict[str, Any]]] = {}
        #: login → user id (GET /users/{login}), e.g. an App's bot user
        self.users: dict[str, int] = {}
        #: commit sha → statuses posted to it, oldest first
        self.statuses: dict[str, list[dict[str, Any]]] = {}
        self.issues: list[dict[str, Any]] = []

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        self.requests.append((method, path))
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if method == "GET" and parts[0] == "users" and parts[1] in self.users:
            return 200, {"login": parts[1], "id": self.users[parts[1]], "type": "Bot"}
        if parts[:3] != ["repos", *REPO.split("/")]:
            return 404, {"message": "Not Found"}
        rest = parts[3:]
        if method == "GET" and rest[:2] == ["rules", "branches"]:
            return 200, self.branch_rules.get(rest[2], [])
        if method == "GET" and rest[:2] == ["actions", "runs"] and rest[3:] == ["approvals"]:
            return 200, self.approvals.get(int(rest[2]), [])
        if rest[0] == "statuses" and method == "POST":
            return self._status(rest[1], body)
        if rest[0] == "issues" and len(rest) <= 2 and not (len(rest) == 2 and rest[1] == "comments"):
            return self._issue(method, rest[1:], query, body)
        if method == "GET" and rest[0] == "pulls" and int(rest[1]) in self.heads:
            return 200, {"number": int(rest[1]), "head": {"sha": self.heads[int(rest[1])]}}
        if rest[0] == "issues" and rest[2:] == ["comments"]:
            number = int(rest[1])
            if method == "GET":
                page, size = int(query["page"][0]), int(query["per_page"][0])
                mine = [c for c in self.comments if c["issue"] == number]
                return 200, mine[(page - 1) * size : page * size]
            comment = {"id": 1000 + len(self.comments), "issue": number, "body": body["body"]}
            comment["user"] = {"login": "github-actions[bot]"}
            self.comments.append(comment)
            return 201, comment
        if method == "PATCH" and rest[:2] == ["issues", "comments"]:
            comment = next(c for c in self.comments if c["id"] == int(rest[2]))
            comment["body"] = body["body"]
            return 200, comment
        return 404, {"message": "Not Found"}

    def _status(self, sha: str, body: Any) -> tuple[int, Any]:
        if body.get("state") not in ("error", "failure", "pending", "success"):
            return 422, {"message": "Validation Failed", "errors": [{"field": "state", "code": "invalid"}]}
        if len(body.get("description") or "") > 140:
            return 422, {"message": "Validation Failed", "errors": [{"field": "description", "code": "custom"}]}
        status = {"id": len(self.statuses) + 1, "sha": sha, **body, "creator": {"login": "github-actions[bot]"}}
        self.statuses.setdefault(sha, []).append(status)
        return 201, status

    def _issue(self, method: str, rest: list[str], query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if method == "GET" and not rest:
            wanted = set(filter(None, (query.get("labels") or [""])[0].split(",")))
            state = (query.get("state") or ["open"])[0]
            found = [
                i
                for i in self.issues
                if (state == "all" or i["state"] == state) and wanted <= {label["name"] for label in i["labels"]}
            ]
            page, size = int(query["page"][0]), int(query["per_page"][0])
            return 200, found[(page - 1) * size : page * size]
        if method == "POST" and not rest:
            number = 100 + len(self.issues)
            issue = {
                "number": number,
                "title": body["title"],
                "body": body.get("body", ""),
                "state": "open",
                "labels": [{"name": name} for name in body.get("labels", [])],
                "comments": [],
            }
            self.issues.append(issue)
            return 201, issue
        issue = next((i for i in self.issues if rest and i["number"] == int(rest[0])), None)
        if issue is None:
            return 404, {"message": "Not Found"}
        if method == "PATCH":
            issue.update({k: v for k, v in body.items() if k in ("title", "body", "state", "state_reason")})
            return 200, issue
        return 200, issue


@contextmanager
def serve(state: FakeGitHub) -> Iterator[str]:
    """Serve `state` on a free local port; yield the API base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(401, {"message": "Bad credentials"})
                return
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            self._reply(*state.handle(self.command, url.path, parse_qs(url.query), body))

        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve  # noqa: N815  (http.server dispatches on these names)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
