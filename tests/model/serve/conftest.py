"""Fixtures: one OpenMP thread in-process and one shared server, serving the session's small model (`trained`,
tests/serving_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits

from tests.model.serve.helpers import MAX_BATCH, MAX_BODY_BYTES, ServerProcess, start_server
from tests.model.serve.training import TrainedModel


@pytest.fixture(scope="session", autouse=True)
def one_thread() -> Iterator[None]:
    """In-process scikit-learn on one OpenMP thread, as in the server: on two busy cores, spinning OpenMP threads
    make small predictions tens of times slower."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def server(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the read-only tests (predictions, bad requests, metrics, fuzzing, scraping)."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    process = start_server(trained.model_dir, log, MAX_BATCH=str(MAX_BATCH), MAX_BODY_BYTES=str(MAX_BODY_BYTES))
    yield process
    process.stop()
