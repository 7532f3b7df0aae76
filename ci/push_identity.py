"""Who pushes the promotion commit: the promotion GitHub App when configured, else GITHUB_TOKEN where that works.

The ruleset on main (terraform/modules/github-governance) requires pull requests and checks, and only the promotion
App is on its bypass list: a push with GITHUB_TOKEN is rejected (GH013). Without an App this asks GitHub which
rules apply to the branch (`GET /repos/{repo}/rules/branches/{branch}`) and refuses early, saying what to set, when
a rule would reject the push; when none would, it falls back to GITHUB_TOKEN with a visible notice.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from ci.github_api import GitHub
from ci.gitrepo import BOT_EMAIL, BOT_NAME
from model.core.errors import LighthouseError

#: Branch rules a direct push cannot satisfy (GitHub's rule types); a bypass actor is the way past them.
BLOCKING_RULES = frozenset(
    {"pull_request", "required_status_checks", "required_signatures", "merge_queue", "required_deployments", "update"}
)


class PushIdentityError(LighthouseError):
    """No identity can push the promotion commit past the branch's rules."""


@dataclass(frozen=True)
class PushIdentity:
    name: str
    email: str
    #: Whose staging promotions production may trust (docs/gitops.md, "Forged releases").
    trusted: frozenset[str]
    notice: str | None = None

    @property
    def git_identity(self) -> str:
        return f"{self.name} <{self.email}>"


def app_identity(api: GitHub, app_slug: str) -> PushIdentity:
    """The App's bot user, as GitHub shows its commits: `<slug>[bot] <<id>+<slug>[bot]@users.noreply.github.com>`."""
    login = f"{app_slug}[bot]"
    user = api.request("GET", f"/users/{urllib.parse.quote(login)}")
    email = f"{user['id']}+{login}@users.noreply.github.com"
    return PushIdentity(login, email, frozenset({email, BOT_EMAIL}))


def token_identity(api: GitHub, branch: str) -> PushIdentity:
    """github-actions[bot], when no rule of `branch` would reject its push; else PushIdentityError saying why."""
    rules = api.request("GET", f"/repos/{api.repo}/rules/branches/{urllib.parse.quote(branch, safe='')}") or []
    blocking = sorted({str(rule.get("type")) for rule in rules if rule.get("type") in BLOCKING_RULES})
    if blocking:
        raise PushIdentityError(
            f"{branch}: its ruleset requires {', '.join(blocking)}, which a push with GITHUB_TOKEN cannot pass "
            "(GH013). Configure the promotion GitHub App: the variable PROMOTION_APP_ID and the environment secret "
            "PROMOTION_APP_PRIVATE_KEY, and its ID as the ruleset's bypass actor (terraform promotion_app_id; "
            'docs/gitops.md, "First fork")'
        )
    notice = (
        "No promotion GitHub App is configured (PROMOTION_APP_ID): pushing the promotion commit with GITHUB_TOKEN "
        f"as {BOT_NAME}. That works only while {branch} has no ruleset requiring pull requests or checks; see "
        'docs/gitops.md, "First fork"'
    )
    return PushIdentity(BOT_NAME, BOT_EMAIL, frozenset({BOT_EMAIL}), notice)


def resolve(api: GitHub, branch: str, app_slug: str | None) -> PushIdentity:
    return app_identity(api, app_slug) if app_slug else token_identity(api, branch)
