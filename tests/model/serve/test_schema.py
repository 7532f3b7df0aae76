"""The request schema and the OpenAPI document come from the contract: nothing dataset-specific is in code."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from model.core.contract import Contract
from model.core.errors import ConfigError
from model.serve.config import Settings
from model.serve.schema import field_path, openapi_document, problems, request_adapter
from tests.model.serve.helpers import ServerProcess
from tests.model.serve.training import TrainedModel


def instance_schema(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    items = schemas["PredictRequest"]["properties"]["instances"]["items"]
    return dict(schemas[items["$ref"].rsplit("/", 1)[-1]])


def test_served_document_is_derived_from_the_contract(server: ServerProcess, trained: TrainedModel) -> None:
    document = server.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    contract: Contract = trained.contract
    instance = instance_schema(document)
    assert instance["additionalProperties"] is False
    assert instance["required"] == [c.name for c in contract.feature_columns]
    assert set(instance["properties"]) == {c.name for c in contract.columns}
    for column in contract.columns:
        prop = instance["properties"][column.name]
        if column.categories:
            assert prop["enum"] == list(column.categories)
        if column.min is not None:
            assert prop["minimum"] == column.min
        if column.max is not None:
            assert prop["maximum"] == column.max
        assert (
            prop["type"]
            == {"integer": "integer", "float": "number", "string": "string", "boolean": "boolean"}[column.dtype]
        )
    request = document["components"]["schemas"]["PredictRequest"]
    assert request["additionalProperties"] is False
    assert request["properties"]["instances"]["maxItems"] == 50  # the shared server's MAX_BATCH
    labels = document["components"]["schemas"]["PredictResponse"]["properties"]["predictions"]["items"]
    assert labels["properties"]["label"]["enum"] == list(contract.target.labels)
    assert set(document["paths"]) == {"/predict", "/healthz", "/readyz", "/metrics", "/version", "/openapi.json"}


def test_a_changed_contract_changes_the_schema(trained: TrainedModel) -> None:
    data = trained.contract.model_dump()
    data["columns"] = [
        {**c, "categories": (*c["categories"], "Unknown")} if c["name"] == "sex" else c for c in data["columns"]
    ]
    widened = Contract.model_validate(data)
    adapter = request_adapter(widened, 10)
    document = openapi_document(widened, adapter, 10, 1024)
    assert instance_schema(document)["properties"]["sex"]["enum"] == ["Female", "Male", "Unknown"]
    row = {"year": 2000, "age": 30, "sex": "Unknown", "employed": "Yes", "citizen": "No", "checks": 0}
    assert adapter.validate_python({"instances": [row]})["instances"][0]["sex"] == "Unknown"


def test_problems_are_capped_and_located(trained: TrainedModel) -> None:
    adapter = request_adapter(trained.contract, 100)
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python({"instances": [{"age": "x"}] * 30})
    found = problems(caught.value, limit=20)
    assert len(found) == 20
    assert found[0].field == "instances[0].year"


@pytest.mark.parametrize(
    ("loc", "path"), [((), "body"), (("instances",), "instances"), (("instances", 3, "age"), "instances[3].age")]
)
def test_field_paths(loc: tuple[str | int, ...], path: str) -> None:
    assert field_path(loc) == path


def test_settings_from_environment() -> None:
    settings = Settings.from_env({"PORT": "9000", "LOG_LEVEL": "DEBUG", "MAX_BATCH": "5", "UNRELATED": "x"})
    assert (settings.port, settings.log_level, settings.max_batch, settings.host) == (9000, "debug", 5, "127.0.0.1")
    assert Settings.from_env({"PORT": ""}).port == 8080  # empty means unset
    with pytest.raises(ConfigError, match=r"MAX_BODY_BYTES='12': Input should be greater than or equal to 1024"):
        Settings.from_env({"MAX_BODY_BYTES": "12"})
