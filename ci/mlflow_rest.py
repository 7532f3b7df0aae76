"""The one MLflow registry read a promotion needs, over MLflow's REST API with the standard library.

A promotion job installs only the `ci` group (a few MB), not MLflow (hundreds of MB) for one GET. Authentication
is MLflow's own client convention: MLFLOW_TRACKING_TOKEN (bearer) or MLFLOW_TRACKING_USERNAME/PASSWORD (basic).
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request

from model.core.errors import LighthouseError

TIMEOUT_S = 30


class RegistryReadError(LighthouseError):
    """The tracking server did not answer, or has no such model version."""


def model_version_tags(uri: str, name: str, version: str) -> dict[str, str]:
    """Tags of model `name` version `version` (GET /api/2.0/mlflow/model-versions/get)."""
    query = urllib.parse.urlencode({"name": name, "version": version})
    url = f"{uri.rstrip('/')}/api/2.0/mlflow/model-versions/get?{query}"
    if not url.startswith(("http://", "https://")):
        raise RegistryReadError(f"MLFLOW_TRACKING_URI must be http(s): {uri!r}")
    request = urllib.request.Request(url, headers=_auth_headers())  # noqa: S310  scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310  scheme checked above
            payload = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise RegistryReadError(f"registry: {name} version {version}: HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, TimeoutError) as exc:
        raise RegistryReadError(f"registry: {uri} unreachable: {getattr(exc, 'reason', exc)}") from exc
    tags = payload.get("model_version", {}).get("tags", [])
    return {str(tag["key"]): str(tag.get("value", "")) for tag in tags}


def _auth_headers() -> dict[str, str]:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    return {}
