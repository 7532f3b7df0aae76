"""Finding 9 of issue 12: a promotion commit must not move a registry alias, since the canary it starts may still
abort (ci.verify moves it once the cluster runs the release). Against a real `mlflow server`, the only kind of
registry the promotion tool ever talked to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ci import promote, registry
from tests.ci.promote_fixtures import ACTIONS_VARS, REPOSITORY, GitOpsRepo, digest, facts_args, write_facts
from tests.ci.releases import registered
from tests.mlflow_server import mlflow_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as url:
        yield url


def test_promotions_move_no_alias_on_a_tracking_server(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ACTIONS_VARS:
        monkeypatch.delenv(name, raising=False)
    versions = {"1": "11" * 32, "2": "22" * 32, "3": "ab" * 32}
    registered(server, "lighthouse-model", versions, "s3://lighthouse-test/model")
    registry.set_alias("lighthouse-model", registry.CHAMPION_ALIAS, "2", server)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    clone = GitOpsRepo(tmp_path).clone("ci")
    facts = write_facts(tmp_path / "facts", model_sha256="ab" * 32, version="3")
    image = f"{REPOSITORY}@{digest('release')}"
    assert promote.main(["--env", "staging", "--image", image, *facts_args(facts), "--root", str(clone)]) == 0
    assert promote.main(["--env", "production", "--from-env", "staging", "--root", str(clone)]) == 0
    assert registry.alias_version("lighthouse-model", registry.CHAMPION_ALIAS, server) == "2"
    assert registry.alias_version("lighthouse-model", registry.STAGING_ALIAS, server) is None
