"""register refuses a model the gates did not pass, and does not register the same artifact twice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model.core import paths
from model.stages import register
from tests.ci.crafted import PROJECT


def _gates(root: Path, passed: bool, failed: list[str]) -> None:
    (root / paths.GATES_REPORT).parent.mkdir(parents=True, exist_ok=True)
    (root / paths.GATES_REPORT).write_text(json.dumps({"passed": passed, "failed": failed}))


def test_refuses_without_gates_or_with_failed_gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    passed, why = register.gates_passed()
    assert not passed
    assert "run the gates first" in why
    _gates(tmp_path, False, ["regression.roc_auc"])
    passed, why = register.gates_passed()
    assert not passed
    assert "regression.roc_auc" in why
    _gates(tmp_path, True, [])
    assert register.gates_passed() == (True, "")


def test_main_exits_before_touching_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(PROJECT / paths.PARAMS, tmp_path / paths.PARAMS)
    (tmp_path / paths.MODEL_DIR).mkdir()
    record = {
        "sha256": "ab",
        "trusted_types": [],
        "estimator": "x",
        "features": [],
        "classes": {},
        "sklearn_version": "",
        "contract_sha256": "",
        "data_hash": "",
        "git_sha": "",
        "mlflow_model_uri": "models:/m-1",
    }
    (tmp_path / paths.MODEL_RECORD).write_text(json.dumps(record))
    _gates(tmp_path, False, ["fairness.colour.demographic_parity_difference"])
    assert register.main() == 1
    assert "refusing to register" in capsys.readouterr().err
    assert not (tmp_path / "mlflow.db").exists()
    assert not register.REGISTRATION.exists()


def test_same_artifact_reuses_its_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the registry's sha256 tag, with no local registration.json (a fresh container or CI runner)."""
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'r.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("m")
    (tmp_path / "src").mkdir()
    sha, other = "a" * 64, "b" * 64
    assert register._registered_before(client, "m", sha) is None
    new = register.MODEL_SHA256_TAG
    for key, tag in (("sha256", sha), (new, other), (new, sha)):  # the old tag and the new
        client.create_model_version("m", source=str(tmp_path / "src"), tags={key: tag})
    assert not register.REGISTRATION.exists()
    assert register._registered_before(client, "m", sha) == "1"  # the oldest of its versions
    assert register._registered_before(client, "m", other) == "2"
    assert register._registered_before(client, "m", "c" * 64) is None  # a new artifact gets a new version
    assert register._registered_before(client, "unregistered", sha) is None
    assert register._registered_before(client, "m", "' or name != '") is None  # never part of a filter
    client.delete_model_version("m", "1")
    client.delete_model_version("m", "3")
    assert register._registered_before(client, "m", sha) is None  # gone from this registry: register again
