"""`set_champion` against a real MLflow registry (a local sqlite store), as the promotion tool will call it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci import registry


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A registry holding model `m` with versions 1 and 2; MLFLOW_TRACKING_URI points at it."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("m")
    source = tmp_path / "artifacts"
    source.mkdir()
    for _ in range(2):
        client.create_model_version("m", source=str(source))
    client.set_registered_model_alias("m", registry.CHALLENGER_ALIAS, "2")
    return uri


def test_set_champion_moves_the_alias_and_returns_the_previous_version(store: str) -> None:
    assert registry.alias_version("m", registry.CHAMPION_ALIAS) is None
    assert registry.set_champion("m", 1) is None
    assert registry.alias_version("m", registry.CHAMPION_ALIAS) == "1"
    assert registry.set_champion("m", "2") == "1"
    assert registry.alias_version("m", registry.CHAMPION_ALIAS) == "2"
    assert registry.alias_version("m", registry.CHALLENGER_ALIAS) == "2"  # challenger is left alone


def test_unknown_version_or_model_leaves_the_alias_alone(store: str) -> None:
    registry.set_champion("m", 1)
    with pytest.raises(registry.RegistryError, match="m version 9 not found"):
        registry.set_champion("m", 9)
    with pytest.raises(registry.RegistryError, match="nope version 1 not found"):
        registry.set_champion("nope", 1)
    assert registry.alias_version("m", registry.CHAMPION_ALIAS) == "1"


def test_cli(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert registry.main(["set-champion", "m", "2"]) == 0
    assert "champion -> version 2 (was unset)" in capsys.readouterr().out
    assert registry.main(["set-champion", "m", "5"]) == 2
    assert "m version 5 not found" in capsys.readouterr().err


def test_server_configured_only_for_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///x.db")
    assert not registry.server_configured()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.example.com")
    assert registry.server_configured()
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert not registry.server_configured()
