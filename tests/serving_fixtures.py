"""Fixtures for tests that run the model server: one small model, trained once per session with the project's own
code. Used by the server's tests (tests/model/serve) and the integration tests that put real servers behind a real
Prometheus (tests/k8s); registered for the whole suite in tests/conftest.py. Nothing heavy is imported until a
test asks for the model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.model.serve.training import TrainedModel


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    from tests.model.serve.training import train_model

    return train_model(tmp_path_factory.mktemp("model"))
