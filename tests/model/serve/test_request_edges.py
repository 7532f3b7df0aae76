"""Requests a lenient parser or router would get wrong: repeated JSON keys (the last one would win) and a trailing
slash (Starlette would redirect to the client's own Host header)."""

from __future__ import annotations

import json

import pytest

from model.serve.app import ApiError, check_unique_keys
from tests.model.serve.helpers import ServerProcess
from tests.model.serve.training import TrainedModel

JSON = {"content-type": "application/json"}


def post(server: ServerProcess, body: str, path: str = "/predict", **headers: str):  # type: ignore[no-untyped-def]
    return server.client.post(path, content=body.encode(), headers={**JSON, **headers})


def test_a_repeated_top_level_key_is_refused(server: ServerProcess, trained: TrainedModel) -> None:
    valid = json.dumps(trained.instances()[:1])
    response = post(server, f'{{"instances": [], "instances": {valid}}}')
    assert response.status_code == 400
    assert response.json()["error"] == "duplicate_key"
    assert "'instances'" in response.json()["message"]


def test_a_repeated_key_inside_an_instance_is_refused(server: ServerProcess, trained: TrainedModel) -> None:
    instance = trained.instances()[0]
    name = next(iter(instance))
    body = json.dumps({"instances": [instance]})
    repeated = body.replace(f'"{name}": ', f'"{name}": {json.dumps(instance[name])}, "{name}": ', 1)
    assert repeated != body
    response = post(server, repeated)
    assert response.status_code == 400
    assert f"'{name}'" in response.json()["message"]


def test_a_key_repeated_through_a_unicode_escape_is_refused(server: ServerProcess, trained: TrainedModel) -> None:
    valid = json.dumps(trained.instances()[:1])
    response = post(server, f'{{"instances": [], "\\u0069nstances": {valid}}}')
    assert response.status_code == 400
    assert response.json()["error"] == "duplicate_key"


def test_the_exact_check_tells_colons_in_strings_from_repeated_keys() -> None:
    """The fast check counts colons; a string holding one sends the request to the exact check, which passes it."""
    check_unique_keys(b'{"instances": [{"a": "x:y", "b": {"c": ":"}}]}')
    with pytest.raises(ApiError, match="'b' appears more than once"):
        check_unique_keys(b'{"instances": [{"a": "x:y", "b": 1, "b": 2}]}')


def test_valid_requests_pass_the_duplicate_check(server: ServerProcess, trained: TrainedModel) -> None:
    response = post(server, json.dumps({"instances": trained.instances()[:10]}))
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 10


@pytest.mark.parametrize("path", ["/predict/", "/healthz/", "/version/"])
def test_no_redirect_to_the_clients_host(server: ServerProcess, path: str) -> None:
    response = server.client.request(
        "POST" if path.startswith("/predict") else "GET", path, headers={**JSON, "host": "attacker.example"}
    )
    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.json()["error"] == "not_found"
