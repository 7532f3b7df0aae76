"""A real server process predicts exactly what the pipeline predicts in-process, and says which model it is."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.model.serve.helpers import MAX_BATCH, ServerProcess
from tests.model.serve.training import TrainedModel


def test_predictions_equal_the_pipeline_on_the_held_out_split(server: ServerProcess, trained: TrainedModel) -> None:
    instances = trained.instances()
    probabilities: list[float] = []
    labels: list[str] = []
    for start in range(0, len(instances), MAX_BATCH):
        response = server.client.post("/predict", json={"instances": instances[start : start + MAX_BATCH]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model_version"] == trained.record.sha256[:12]
        probabilities += [p["probability"] for p in body["predictions"]]
        labels += [p["label"] for p in body["predictions"]]
    expected = trained.pipeline.predict_proba(trained.x_test)[:, 1]
    expected_labels = [trained.record.classes[str(c)] for c in trained.pipeline.predict(trained.x_test)]
    # JSON floats round-trip exactly, so this is bit-for-bit equality with the in-process pipeline.
    np.testing.assert_array_equal(np.array(probabilities), expected)
    assert labels == expected_labels


def test_single_rows_take_the_same_path_as_batches(server: ServerProcess, trained: TrainedModel) -> None:
    expected = trained.pipeline.predict_proba(trained.x_test.head(5))[:, 1]
    for instance, probability in zip(trained.instances()[:5], expected, strict=True):
        response = server.client.post("/predict", json={"instances": [instance]})
        assert response.json()["predictions"][0]["probability"] == probability


def test_other_contract_columns_are_accepted_but_not_used(server: ServerProcess, trained: TrainedModel) -> None:
    """Sensitive attributes (feature: false) may be sent with the record; the model never sees them."""
    instance = trained.instances()[0]
    plain = server.client.post("/predict", json={"instances": [instance]}).json()
    for colour in ("Black", "White"):
        with_colour = server.client.post("/predict", json={"instances": [{**instance, "colour": colour}]})
        assert with_colour.status_code == 200
        assert with_colour.json()["predictions"] == plain["predictions"]


def test_integral_floats_are_integers(server: ServerProcess, trained: TrainedModel) -> None:
    """JSON Schema's `integer` includes 25.0; clients that send every number as a float still work."""
    instance = trained.instances()[0]
    as_floats = {k: float(v) if isinstance(v, int) else v for k, v in instance.items()}
    a = server.client.post("/predict", json={"instances": [instance]}).json()
    b = server.client.post("/predict", json={"instances": [as_floats]}).json()
    assert a == b


def test_version_reports_the_record(server: ServerProcess, trained: TrainedModel) -> None:
    body = server.client.get("/version").json()
    assert body["model_version"] == trained.record.sha256[:12]
    assert body["git_sha"] == trained.record.git_sha
    assert body["data_hash"] == trained.record.data_hash
    assert body["sha256"] == trained.record.sha256


def test_health_and_readiness(server: ServerProcess) -> None:
    assert server.client.get("/healthz").json() == {"status": "ok"}
    assert server.client.get("/readyz").json() == {"status": "ready"}


def test_request_id_is_echoed_and_logged(server: ServerProcess, trained: TrainedModel) -> None:
    response = server.client.post(
        "/predict", json={"instances": trained.instances()[:1]}, headers={"X-Request-ID": "trace-me-42"}
    )
    assert response.headers["x-request-id"] == "trace-me-42"
    generated = server.client.get("/version").headers["x-request-id"]
    assert len(generated) == 32
    line = server.wait_for_log(lambda line: line.get("request_id") == "trace-me-42" and "status" in line)
    assert line["path"] == "/predict"
    assert line["status"] == 200


@pytest.mark.parametrize(
    "given",
    ["a" * 128, "0af7651916cd43dd8448eb211c80319c", "00-0af76519-b7ad6b71-01", "client/7:job=3+x@host_a.b"],
)
def test_a_safe_request_id_is_kept(server: ServerProcess, trained: TrainedModel, given: str) -> None:
    response = server.client.post(
        "/predict", json={"instances": trained.instances()[:1]}, headers={"X-Request-ID": given}
    )
    assert response.headers["x-request-id"] == given


@pytest.mark.parametrize(
    "given",
    [b"a" * 129, b"has space", b'quo"te', b"comma,separated", b"semi;colon", b"caf\xc3\xa9", b"tab\tid", b""],
    ids=["too long", "space", "quote", "comma", "semicolon", "non-ASCII", "tab", "empty"],
)
def test_an_unsafe_request_id_is_replaced(server: ServerProcess, given: bytes) -> None:
    """Anything else is replaced by a generated id: it would end up in headers, logs and label CSV files."""
    response = server.client.get("/healthz", headers=[(b"X-Request-ID", given)])
    assert response.status_code == 200
    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
