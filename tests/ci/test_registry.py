"""`set_champion` against a real MLflow registry (a local sqlite store), as the promotion tool will call it."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ci import registry

_names = (f"model-{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One sqlite registry for the module (creating its schema takes seconds); each test uses its own model."""
    return f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"


@pytest.fixture
def model(uri: str, tmp_path: Path) -> str:
    """A registered model with versions 1 and 2, `challenger` on 2."""
    from mlflow import MlflowClient

    name = next(_names)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, source=str(tmp_path))
    client.set_registered_model_alias(name, registry.CHALLENGER_ALIAS, "2")
    return name


def test_set_champion_moves_the_alias_and_returns_the_previous_version(uri: str, model: str) -> None:
    assert registry.alias_version(model, registry.CHAMPION_ALIAS, uri) is None
    assert registry.set_champion(model, 1, uri) is None
    assert registry.alias_version(model, registry.CHAMPION_ALIAS, uri) == "1"
    assert registry.set_champion(model, "2", uri) == "1"
    assert registry.alias_version(model, registry.CHAMPION_ALIAS, uri) == "2"
    assert registry.alias_version(model, registry.CHALLENGER_ALIAS, uri) == "2"  # challenger is left alone


def test_unknown_version_or_model_leaves_the_alias_alone(uri: str, model: str) -> None:
    registry.set_champion(model, 1, uri)
    with pytest.raises(registry.RegistryError, match=f"{model} version 9 not found"):
        registry.set_champion(model, 9, uri)
    with pytest.raises(registry.RegistryError, match="nope version 1 not found"):
        registry.set_champion("nope", 1, uri)
    assert registry.alias_version(model, registry.CHAMPION_ALIAS, uri) == "1"


def test_cli_uses_the_configured_tracking_uri(
    uri: str, model: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert registry.main(["set-champion", model, "2"]) == 0
    assert "champion -> version 2 (was unset)" in capsys.readouterr().out
    assert registry.alias_version(model, registry.CHAMPION_ALIAS, uri) == "2"
    assert registry.main(["set-champion", model, "5"]) == 2
    assert f"{model} version 5 not found" in capsys.readouterr().err


def test_server_configured_only_for_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///x.db")
    assert not registry.server_configured()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.example.com")
    assert registry.server_configured()
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert not registry.server_configured()
