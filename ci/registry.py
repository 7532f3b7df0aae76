"""Registry aliases kept in step with what runs: `challenger` is the version a PR's pipeline registered
(model/stages/register.py sets it); each environment's alias (ENVIRONMENT_ALIASES: `staging`, and `champion` for
production) is the version that environment is verified to run. `python -m ci.verify` moves it, and only once the
cluster runs the release (docs/gitops.md); a promotion commit alone moves nothing, since a canary can still abort.

Only meaningful with a shared registry (MLFLOW_TRACKING_URI=http...); the local sqlite store is per machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from model.core.errors import LighthouseError
from model.core.tracking import CHALLENGER_ALIAS, MODEL_SHA256_TAG, tracking_uri

CHAMPION_ALIAS = "champion"
STAGING_ALIAS = "staging"
#: The alias that names what each environment runs, once ci.verify has seen it run.
ENVIRONMENT_ALIASES = {"staging": STAGING_ALIAS, "production": CHAMPION_ALIAS}
__all__ = [
    "CHALLENGER_ALIAS",
    "CHAMPION_ALIAS",
    "ENVIRONMENT_ALIASES",
    "MODEL_SHA256_TAG",
    "STAGING_ALIAS",
    "RegistryError",
    "alias_version",
    "server_configured",
    "set_alias",
    "set_champion",
    "version_sha256",
]


class RegistryError(LighthouseError):
    """The registry refused an alias change (unknown model or version, unreachable server)."""


def server_configured() -> bool:
    """True when MLFLOW_TRACKING_URI points at a tracking server (what CI and promotions share)."""
    return os.environ.get("MLFLOW_TRACKING_URI", "").startswith(("http://", "https://"))


def _client(uri: str | None) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri or tracking_uri(), registry_uri=uri or tracking_uri())


def alias_version(name: str, alias: str, uri: str | None = None) -> str | None:
    """The version `alias` points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return str(_client(uri).get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def version_sha256(name: str, version: str | int, uri: str | None = None) -> str | None:
    """The artifact sha256 the registry recorded for a version (its `sha256` tag); RegistryError if no such version."""
    from mlflow.exceptions import MlflowException

    try:
        found = _client(uri).get_model_version(name, str(version))
    except MlflowException as exc:
        raise RegistryError(f"registry: {name} version {version} not found: {exc.message}") from exc
    tag = (found.tags or {}).get(MODEL_SHA256_TAG)
    return str(tag) if tag else None


def set_alias(
    name: str, alias: str, version: str | int, uri: str | None = None, *, sha256: str | None = None
) -> str | None:
    """Point `alias` at `version` of model `name`; return the version it pointed at before (None if none).

    The version must exist (a typo must not leave the alias dangling) and, given `sha256`, must be that artifact:
    a registry version that holds another model never gets an environment's alias.
    """
    recorded = version_sha256(name, version, uri)
    if sha256 is not None and recorded != sha256:
        raise RegistryError(
            f"registry: {name} version {version} has sha256 tag {recorded or 'unset'}, but the release records "
            f"{sha256}; alias {alias} left alone"
        )
    previous = alias_version(name, alias, uri)
    _client(uri).set_registered_model_alias(name, alias, str(version))
    return previous


def set_champion(name: str, version: str | int, uri: str | None = None) -> str | None:
    """Point `champion` at `version` of model `name` (by hand: `python -m ci.registry set-champion`)."""
    return set_alias(name, CHAMPION_ALIAS, version, uri)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.registry", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    champion = sub.add_parser("set-champion", help="point the champion alias at a version")
    champion.add_argument("name")
    champion.add_argument("version")
    args = parser.parse_args(argv)
    try:
        previous = set_champion(args.name, args.version)
    except LighthouseError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"registry: {args.name} {CHAMPION_ALIAS} -> version {args.version} (was {previous or 'unset'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
