"""Every kind of bad request gets a 4xx whose message names the problem; the server stays up and keeps serving."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

import pytest

from tests.model.serve.helpers import MAX_BATCH, MAX_BODY_BYTES, ServerProcess
from tests.model.serve.training import TrainedModel

GOOD = {"year": 2000, "age": 25, "sex": "Male", "employed": "Yes", "citizen": "Yes", "checks": 1}
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Bad:
    """A request that must be refused with `status`, and words the message must contain."""

    status: int
    names: tuple[str, ...]
    body: bytes
    headers: dict[str, str]
    method: str = "POST"
    path: str = "/predict"


def instances(*rows: dict[str, Any]) -> bytes:
    return json.dumps({"instances": list(rows)}).encode()


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != name}


CASES = {
    "malformed JSON": Bad(400, ("not valid JSON",), b'{"instances": [', JSON),
    "not UTF-8": Bad(400, ("not valid JSON",), b"\xff\xfe\x00", JSON),
    "wrong content type": Bad(415, ("Content-Type", "text/plain"), instances(GOOD), {"content-type": "text/plain"}),
    "no content type": Bad(415, ("Content-Type",), instances(GOOD), {}),
    "compressed body": Bad(415, ("Content-Encoding", "gzip"), instances(GOOD), {**JSON, "content-encoding": "gzip"}),
    "empty body": Bad(400, ("not valid JSON",), b"", JSON),
    "body not an object": Bad(422, ("body", "object"), b"[1, 2]", JSON),
    "no instances key": Bad(422, ("instances", "required"), b'{"rows": []}', JSON),
    "empty instances": Bad(422, ("instances", "at least 1"), instances(), JSON),
    "instance not an object": Bad(422, ("instances[0]",), b'{"instances": [42]}', JSON),
    "oversized batch": Bad(413, ("instances", str(MAX_BATCH), "MAX_BATCH"), instances(*[GOOD] * (MAX_BATCH + 1)), JSON),
    "oversized body": Bad(413, ("body", str(MAX_BODY_BYTES)), b'{"instances": [' + b" " * MAX_BODY_BYTES + b"]}", JSON),
    "unknown field": Bad(422, ("instances[0].income", "Extra inputs"), instances(with_(income=3)), JSON),
    "target sent as a field": Bad(422, ("instances[0].released",), instances(with_(released="Yes")), JSON),
    "missing field": Bad(422, ("instances[0].checks", "required"), instances(without("checks")), JSON),
    "wrong type: string for integer": Bad(
        422, ("instances[0].age", "integer", "'25'"), instances(with_(age="25")), JSON
    ),
    "wrong type: boolean for integer": Bad(
        422, ("instances[0].checks", "integer"), instances(with_(checks=True)), JSON
    ),
    "wrong type: fraction for integer": Bad(422, ("instances[0].age", "fractional"), instances(with_(age=25.5)), JSON),
    "wrong type: number for category": Bad(422, ("instances[0].sex",), instances(with_(sex=1)), JSON),
    "null for a required field": Bad(422, ("instances[0].age",), instances(with_(age=None)), JSON),
    "NaN": Bad(
        422, ("instances[0].age", "finite"), b'{"instances": [%s]}' % json.dumps(with_(age=float("nan"))).encode(), JSON
    ),
    "infinity": Bad(
        422,
        ("instances[0].year", "finite"),
        b'{"instances": [%s]}' % json.dumps(with_(year=float("inf"))).encode(),
        JSON,
    ),
    "huge number": Bad(422, ("instances[0].year", "less than or equal to 2002"), instances(with_(year=10**30)), JSON),
    "below the contract's minimum": Bad(
        422, ("instances[0].age", "greater than or equal to 12"), instances(with_(age=3)), JSON
    ),
    "above the contract's maximum": Bad(
        422, ("instances[0].checks", "less than or equal to 6"), instances(with_(checks=7)), JSON
    ),
    "unseen category": Bad(
        422, ("instances[0].sex", "'Female' or 'Male'", "Other"), instances(with_(sex="Other")), JSON
    ),
    "category in the wrong case": Bad(422, ("instances[0].employed", "yes"), instances(with_(employed="yes")), JSON),
    "bad row deep in a batch": Bad(
        422, ("instances[3].citizen",), instances(GOOD, GOOD, GOOD, with_(citizen="maybe")), JSON
    ),
    "wrong method": Bad(405, ("GET", "/predict"), b"", {}, method="GET"),
    "unknown path": Bad(404, ("/predictions",), instances(GOOD), JSON, path="/predictions"),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_request_is_refused_naming_the_problem(server: ServerProcess, case: Bad) -> None:
    response = server.client.request(case.method, case.path, content=case.body, headers=case.headers)
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    for name in case.names:
        assert name in body["message"], f"{name!r} not in {body['message']!r}"
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text


def test_problems_name_every_field(server: ServerProcess) -> None:
    response = server.client.post("/predict", content=instances(with_(age=300, sex="X", zz=1)), headers=JSON)
    fields = {p["field"]: p for p in response.json()["problems"]}
    assert set(fields) == {"instances[0].age", "instances[0].sex", "instances[0].zz"}
    assert fields["instances[0].age"]["value"] == 300
    assert fields["instances[0].age"]["rule"] == "less_than_equal"


def test_server_keeps_serving_after_bad_requests(server: ServerProcess, trained: TrainedModel) -> None:
    for case in CASES.values():
        server.client.request(case.method, case.path, content=case.body, headers=case.headers)
    assert server.process.poll() is None
    assert server.client.get("/healthz").status_code == 200
    response = server.client.post("/predict", json={"instances": trained.instances()[:3]})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 3


def test_a_client_that_leaves_mid_body_is_not_a_server_error(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Request-ID: leaves-early\r\nContent-Length: 1000\r\n\r\n" + b'{"instances": ['
        )
    line = server.wait_for_log(lambda line: line.get("request_id") == "leaves-early" and "status" in line)
    assert line["status"] == 499
    assert not [entry for entry in server.logs() if entry["level"] == "error"]
    assert server.client.get("/healthz").status_code == 200
