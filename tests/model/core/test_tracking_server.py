"""Training against a real `mlflow server` process (MLFLOW_TRACKING_URI=http://...), not the sqlite default."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline_project import clone_built, dvc, project_env

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    cmd = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'server.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = (root / "server.log").open("w")
    process = subprocess.Popen(cmd, env=project_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not become healthy in 90 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_pipeline_tracks_and_registers_on_a_server(mlflow_server: str, built: Path, tmp_path: Path) -> None:
    project = clone_built(built, tmp_path / "project")
    (project / "mlflow.db").unlink()
    for stage in ("train", "evaluate", "register"):  # the tracked stages, forced to run again against the server
        dvc(project, "repro", "--force", "--single-item", stage, MLFLOW_TRACKING_URI=mlflow_server)
    assert not (project / "mlflow.db").exists(), "the sqlite default must not be used when a server is configured"

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server)
    record = json.loads((project / "models/model.json").read_text())
    run = client.get_run(record["mlflow_run_id"])
    assert run.data.tags["data_hash"] == record["data_hash"]
    assert run.data.tags["git_sha"] == record["git_sha"]
    assert "test_roc_auc" in run.data.metrics
    registration = json.loads((project / "models/registration.json").read_text())
    assert registration["tracking"] == "server"
    version = client.get_model_version_by_alias(registration["name"], "challenger")
    assert version.version == registration["version"]
    assert version.run_id == run.info.run_id
    # The model itself went to the server's artifact store and loads back from there.
    import mlflow.sklearn

    mlflow.set_tracking_uri(mlflow_server)
    loaded = mlflow.sklearn.load_model(f"models:/{registration['name']}@challenger")
    assert hasattr(loaded, "predict_proba")
