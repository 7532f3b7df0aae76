"""The `register` stage: register the trained model as a new version in the MLflow registry.

It runs after the gates, so a model that failed validation, evaluation or a blocking gate is never registered;
run by hand, it refuses unless reports/gates.json says the gates passed. The new version gets the `challenger`
alias; promotion to production moves `champion` (ci/registry.py). Rerunning it for the same artifact (e.g. the
gates reran because the champion changed) reuses the version already registered instead of adding a duplicate.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from model.core import artifact, paths
from model.core.errors import LighthouseError
from model.core.io import read_json, write_json
from model.core.params import load_params
from model.core.tracking import CHALLENGER_ALIAS, MODEL_SHA256_TAG, configure, tracking_uri

REGISTRATION = paths.REGISTRATION
#: The version's tag naming the artifact's sha256: ci.promote refuses a release whose registry tag differs.


def gates_passed() -> tuple[bool, str]:
    """Whether reports/gates.json exists and says every blocking gate passed, and why not."""
    if not paths.GATES_REPORT.exists():
        return False, f"{paths.GATES_REPORT} not found: run the gates first (`make pipeline` or `python -m ci.gates`)"
    report = read_json(paths.GATES_REPORT)
    if report.get("passed") is not True:
        return False, f"{paths.GATES_REPORT}: blocking gate(s) failed: {', '.join(report.get('failed', []))}"
    return True, ""


def _registered_before(client: Any, name: str, sha256: str) -> str | None:
    """The version this artifact already has in the registry (its `model_sha256` tag, or the older `sha256`),
    the oldest if several.

    The registry is asked, not only the local record: a training job in a fresh container (or a CI runner that
    restored the stages from the DVC run cache) has no registration.json, and must not add a duplicate version.
    """
    from mlflow.exceptions import MlflowException

    if not re.fullmatch(r"[0-9a-f]{64}", sha256) or "'" in name:
        return None  # never interpolate anything but a digest and a plain name into the filter
    versions: set[int] = set()
    for tag in (MODEL_SHA256_TAG, "sha256"):  # MLflow's filter has no OR
        try:
            found = client.search_model_versions(f"name = '{name}' and tags.{tag} = '{sha256}'")
        except MlflowException:
            return None  # no such model yet
        versions |= {int(v.version) for v in found if v.tags.get(tag) == sha256}
    return str(min(versions)) if versions else None


def main() -> int:
    try:
        params = load_params(paths.PARAMS)
        record = artifact.read_record(paths.MODEL_DIR)
    except LighthouseError as exc:
        print(f"register: {exc}", file=sys.stderr)
        return 2
    passed, why = gates_passed()
    if not passed:
        print(f"register: refusing to register: {why}", file=sys.stderr)
        return 1
    if not record.mlflow_model_uri:
        print(
            "register: the model record has no MLflow model URI; was train run with tracking?",
            file=sys.stderr,
        )
        return 2
    mlflow = configure(params.tracking.experiment)
    name = params.tracking.registered_model
    client = mlflow.MlflowClient()
    number = _registered_before(client, name, record.sha256)
    if number is None:
        number = str(
            mlflow.register_model(
                record.mlflow_model_uri,
                name,
                tags={"git_sha": record.git_sha, "data_hash": record.data_hash, MODEL_SHA256_TAG: record.sha256},
            ).version
        )
    client.set_model_version_tag(name, number, MODEL_SHA256_TAG, record.sha256)  # also on a version registered before
    client.set_registered_model_alias(name, CHALLENGER_ALIAS, number)
    write_json(
        REGISTRATION,
        {
            "name": name,
            "version": number,
            "alias": CHALLENGER_ALIAS,
            "run_id": record.mlflow_run_id,
            "sha256": record.sha256,
            "tracking": "local sqlite" if tracking_uri().startswith("sqlite:") else "server",
        },
    )
    print(f"register: {name} version {number} (alias {CHALLENGER_ALIAS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
