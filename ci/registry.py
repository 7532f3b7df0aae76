"""Registry aliases kept in step with git: `challenger` is the version a PR's pipeline registered
(model/stages/register.py sets it), `champion` the version in production. The promotion tool calls `set_champion` when a
promotion commit lands, so the registry says what the production overlay's release record says.

Only meaningful with a shared registry (MLFLOW_TRACKING_URI=http...); the local sqlite store is per machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from model.core.errors import LighthouseError
from model.core.tracking import CHALLENGER_ALIAS, tracking_uri

CHAMPION_ALIAS = "champion"
__all__ = ["CHALLENGER_ALIAS", "CHAMPION_ALIAS", "RegistryError", "alias_version", "server_configured", "set_champion"]


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


def set_champion(name: str, version: str | int, uri: str | None = None) -> str | None:
    """Point `champion` at `version` of model `name`; return the version it pointed at before (None if none).

    The version must exist: a typo must not leave the alias dangling.
    """
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    try:
        client.get_model_version(name, str(version))
    except MlflowException as exc:
        raise RegistryError(f"registry: {name} version {version} not found: {exc.message}") from exc
    previous = alias_version(name, CHAMPION_ALIAS, uri)
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(version))
    return previous


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
