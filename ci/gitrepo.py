"""Plain `git` subprocesses for the promotion tool: no library, the same commands a person would type."""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from model.core.errors import LighthouseError

#: Fallback identity when the repository has none (a fresh CI checkout): GitHub's own bot, or a local name.
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
LOCAL_NAME = "lighthouse-promote"
LOCAL_EMAIL = "lighthouse-promote@localhost"


class GitError(LighthouseError):
    """A git command failed; the message carries the command and git's own words."""


#: Commands that talk to the remote: the only ones that get the push token.
REMOTE_COMMANDS = frozenset({"fetch", "push"})


@dataclass(frozen=True)
class Git:
    root: Path
    #: Used by fetch and push only, passed in their environment (GIT_CONFIG_*), never written to .git/config.
    push_token: str | None = field(default=None, repr=False)

    def run(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
        if self.push_token and args and args[0] in REMOTE_COMMANDS:
            env.update(self.credential_env())
        proc = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, input=stdin, env=env, check=False
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip()
            raise GitError(f"`git {' '.join(args)}` failed in {self.root}: {detail}")
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0

    def head(self) -> str:
        return self.out("rev-parse", "HEAD")

    def resolve(self, rev: str) -> str:
        """Full commit SHA of `rev`, or GitError naming it."""
        proc = self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        if proc.returncode != 0:
            raise GitError(f"{rev!r} is not a commit in {self.root}")
        return proc.stdout.strip()

    def show(self, rev: str, path: str) -> str | None:
        """The text of `path` at `rev`, or None when the file does not exist there."""
        proc = self.run("show", f"{rev}:{path}", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def commits_touching(self, path: str, rev: str = "HEAD") -> list[str]:
        """Commits reachable from `rev` that changed `path`, newest first."""
        text = self.out("log", "--format=%H", rev, "--", path)
        return text.split() if text else []

    def current_branch(self) -> str | None:
        proc = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return proc.stdout.strip() or None

    def status(self, *paths: str) -> str:
        """Porcelain status of `paths` (tracked changes and untracked files); empty when clean."""
        return self.out("status", "--porcelain", "--untracked-files=all", "--", *paths)

    def credential_env(self) -> dict[str, str]:
        """An `Authorization` header for the server's HTTPS remotes, as git reads it from GIT_CONFIG_* variables."""
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        basic = base64.b64encode(f"x-access-token:{self.push_token}".encode()).decode()
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        }

    def identity(self, override: tuple[str, str] | None = None) -> tuple[str, str]:
        """(name, email) a commit gets: the override, else the repository's, else GitHub's bot or a local name."""
        if override is not None:
            return override
        name = self.run("config", "user.name", check=False).stdout.strip()
        email = self.run("config", "user.email", check=False).stdout.strip()
        if name and email:
            return name, email
        on_actions = os.environ.get("GITHUB_ACTIONS") == "true"
        return (BOT_NAME, BOT_EMAIL) if on_actions else (LOCAL_NAME, LOCAL_EMAIL)

    def identity_args(self, override: tuple[str, str] | None = None) -> list[str]:
        """`-c user.name=… -c user.email=…` for the promotion commit (author and committer alike)."""
        name, email = self.identity(override)
        return ["-c", f"user.name={name}", "-c", f"user.email={email}"]
