"""The serving image, built from the real Dockerfile and run as the cluster runs it: read-only root filesystem with
a /tmp tmpfs, host network on a free port, ulimits. Here with buildah + podman on the local base; on GitHub's
runners the same tests run against docker and the Dockerfile's digest-pinned public base (`pr.yml`, image-test).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.images.conftest import BuiltImage
from tests.images.engine import Engine
from tests.model.serve.helpers import free_port
from tests.model.serve.test_shutdown import CLIENTS, MAX_SECONDS, Outcomes, client_loop
from tests.model.serve.training import TrainedModel

pytestmark = pytest.mark.slow

#: Bytes the image adds above its base (the serving venv, pruned, and the app). Measured 323 MB on the local base
#: (451 MB image, 128 MB base; numpy, scipy, scikit-learn and pandas are 85% of it); the budget leaves ~15% for
#: dependency bumps, and catches a training package or an unpruned test suite slipping in (each 50+ MB).
LAYERS_ABOVE_BASE_BUDGET_MB = 375
TRAINING_STACK = ("dvc", "mlflow", "great_expectations", "shap", "fairlearn")
PREDICT_BATCH = 500


@dataclass(frozen=True)
class Running:
    container: str
    url: str


def start_serving(engine: Engine, image: str, **env: str) -> Running:
    port = free_port()
    container = engine.start(image, {"HOST": "127.0.0.1", "PORT": str(port), **env})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return Running(container, url)
        except httpx.TransportError:
            pass
        if not engine.inspect_container(container)["State"]["Running"]:
            break
        time.sleep(0.5)
    logs = engine.logs(container)
    engine.remove(container)
    raise AssertionError(f"the container did not become ready:\n{logs[-4000:]}")


@pytest.fixture(scope="module")
def serving(engine: Engine, serving_image: BuiltImage) -> Iterator[Running]:
    running = start_serving(engine, serving_image.tag)
    yield running
    engine.remove(running.container)


def test_labels_carry_version_git_sha_and_data_hash(engine: Engine, serving_image: BuiltImage) -> None:
    labels = engine.inspect_image(serving_image.tag)["Config"]["Labels"]
    facts = serving_image.build_args
    assert labels["org.opencontainers.image.version"] == facts["MODEL_VERSION"]
    assert labels["io.mlops-lighthouse.model.version"] == facts["MODEL_VERSION"]
    assert labels["org.opencontainers.image.revision"] == facts["GIT_SHA"]
    assert labels["io.mlops-lighthouse.git-sha"] == facts["GIT_SHA"]
    assert labels["io.mlops-lighthouse.model.data-hash"] == facts["DATA_HASH"]
    assert "unknown" not in facts.values()


def test_the_version_endpoint_agrees_with_the_labels(serving: Running, serving_image: BuiltImage) -> None:
    version = httpx.get(f"{serving.url}/version", timeout=10).json()
    assert version["git_sha"] == serving_image.build_args["GIT_SHA"]
    assert version["data_hash"] == serving_image.build_args["DATA_HASH"]


def test_runs_as_a_non_root_user_on_a_read_only_root(engine: Engine, serving: Running) -> None:
    assert engine.exec(serving.container, "id", "-u").stdout.strip() == "10001"
    for path in ("/app/models/intruder", "/opt/venv/intruder", "/intruder"):
        written = engine.exec(serving.container, "python", "-c", f"open({path!r}, 'w')")
        assert written.returncode != 0, f"{path} is writable"
        assert "Read-only file system" in written.stderr or "Permission denied" in written.stderr, written.stderr
    assert engine.exec(serving.container, "python", "-c", "open('/tmp/scratch', 'w').write('ok')").returncode == 0
    mounts = engine.inspect_container(serving.container)["HostConfig"]
    assert mounts["ReadonlyRootfs"] is True


def test_the_healthcheck_runs_and_reports_healthy(engine: Engine, serving: Running, serving_image: BuiltImage) -> None:
    assert engine.image_healthcheck(serving_image.tag)["Test"] == ["CMD", "python", "-m", "model.serve.healthcheck"]
    engine.wait_healthy(serving.container)


def test_predict_equals_the_pipeline_on_every_held_out_row(serving: Running, trained: TrainedModel) -> None:
    instances = trained.instances()
    answered: list[float] = []
    with httpx.Client(base_url=serving.url, timeout=60) as client:
        for start in range(0, len(instances), PREDICT_BATCH):
            response = client.post("/predict", json={"instances": instances[start : start + PREDICT_BATCH]})
            assert response.status_code == 200, response.text
            answered += [p["probability"] for p in response.json()["predictions"]]
    assert answered == trained.pipeline.predict_proba(trained.x_test)[:, 1].tolist()


def test_no_training_stack_is_importable(engine: Engine, serving: Running) -> None:
    probe = f"import importlib.util as u, json; print(json.dumps([m for m in {TRAINING_STACK!r} if u.find_spec(m)]))"
    result = engine.exec(serving.container, "python", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_the_layers_above_the_base_stay_within_budget(engine: Engine, serving_image: BuiltImage) -> None:
    above = engine.image_size(serving_image.tag) - engine.image_size(serving_image.base)
    print(f"serving image: {above / 1e6:.0f} MB above {serving_image.base}")
    assert 0 < above <= LAYERS_ABOVE_BASE_BUDGET_MB * 1e6, f"{above / 1e6:.0f} MB above the base"


def test_sigterm_under_load_loses_no_accepted_request(
    engine: Engine, serving_image: BuiltImage, trained: TrainedModel
) -> None:
    """`podman stop`/`docker stop` (SIGTERM, the image's STOPSIGNAL) while clients keep the server busy: every
    request the server logged as received got its 200, and the container exits 0 within the grace period."""
    running = start_serving(engine, serving_image.tag, LOG_LEVEL="debug")
    try:
        body = {"instances": trained.instances()[:20]}
        outcomes, stop = Outcomes(), threading.Event()
        threads = [
            threading.Thread(target=client_loop, args=(running.url, body, outcomes, stop), daemon=True)
            for _ in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(2.0)
        stop.set()
        signalled = time.monotonic()
        exit_code = engine.stop(running.container, grace_seconds=30)
        for thread in threads:
            thread.join(MAX_SECONDS)
        logs = [json.loads(line) for line in engine.logs(running.container).splitlines() if line.startswith("{")]
    finally:
        engine.remove(running.container)
    assert exit_code == 0
    assert outcomes.wrong == {}, "no error responses, and no dropped connection before SIGTERM"
    predict = [line for line in logs if line.get("path") == "/predict"]
    received = {line["request_id"] for line in predict if line["message"] == "request received"}
    lost = received - set(outcomes.ok)
    assert not lost, f"{len(lost)} accepted request(s) got no response"
    assert len(outcomes.ok) > CLIENTS, "the clients did load the server"
    assert any(at > signalled for at in outcomes.ok.values()), "requests in flight at SIGTERM were completed"
