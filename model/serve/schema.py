"""The request schema and the OpenAPI document, both derived from the data contract.

One pydantic TypeAdapter parses and validates a request body in a single pass in Rust (about 2 µs for one
instance); its JSON schema is the request schema of the OpenAPI document, so the two cannot disagree.
Feature columns are required; other contract columns (e.g. audited sensitive attributes) may be sent and are
validated, but the model never sees them; anything else is an unknown field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, Required, cast

from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from model.core.contract import Column, Contract

#: A validated instance: contract column name -> value (absent for optional columns that were not sent).
Instance = Mapping[str, Any]


def _json_integer(value: Any) -> Any:
    """JSON Schema's `integer`: a number with no fractional part (so 25.0 is 25); never a string or boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("finite_number", "Input should be a finite number")
        if not value.is_integer():
            raise PydanticCustomError(
                "int_from_float", "Input should be a valid integer, got a number with a fractional part"
            )
        return int(value)
    return value


def _bound(column: Column, value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if column.dtype == "integer" and float(value).is_integer() else value


def _field_type(column: Column) -> Any:
    # Constraints first, then the before-validator: that order keeps `minimum`/`maximum` in the JSON schema.
    info = Field(
        description=column.description or None,
        ge=_bound(column, column.min),
        le=_bound(column, column.max),
    )
    base: Any
    if column.dtype == "string":
        base = Annotated[Literal[tuple(column.categories or ())], info]
    elif column.dtype == "integer":
        base = Annotated[int, info, Field(strict=True), BeforeValidator(_json_integer)]
    elif column.dtype == "float":
        base = Annotated[float, info, Field(strict=True, allow_inf_nan=False)]
    else:
        base = Annotated[bool, info, Field(strict=True)]
    return base | None if column.nullable else base


def instance_type(contract: Contract) -> Any:
    """A TypedDict of the contract's columns: features required (unless nullable), the rest optional."""
    features = {c.name for c in contract.feature_columns}
    fields = {
        c.name: (Required if c.name in features and not c.nullable else NotRequired)[_field_type(c)]
        for c in contract.columns
    }
    typed_dict = cast(Any, TypedDict)("Instance", fields)
    typed_dict.__pydantic_config__ = ConfigDict(extra="forbid", title="Instance")
    return typed_dict


def request_adapter(contract: Contract, max_batch: int) -> TypeAdapter[Any]:
    """Validates `{"instances": [instance, ...]}` with 1..max_batch instances and no other key."""
    instances = cast(Any, list)[instance_type(contract)]
    fields = {"instances": Required[Annotated[instances, Field(min_length=1, max_length=max_batch)]]}
    request = cast(Any, TypedDict)("PredictRequest", fields)
    request.__pydantic_config__ = ConfigDict(extra="forbid", title="PredictRequest")
    return TypeAdapter(request)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request, in words a client can act on."""

    field: str
    rule: str
    message: str
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "rule": self.rule, "message": self.message}
        if self.value is not None:
            out["value"] = self.value
        return out

    def __str__(self) -> str:
        shown = "" if self.value is None else f" (got {self.value!r})"
        return f"{self.field}: {self.message}{shown}"


def field_path(loc: Sequence[int | str]) -> str:
    """("instances", 0, "age") -> "instances[0].age"; the empty path is the body itself."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _shown(value: Any) -> Any:
    """The offending value when it is a short scalar (echoing whole objects back helps nobody)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else _shown(str(value))  # JSON encoders stop at 64 bits
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:77] + "..."
    return None


def problems(exc: ValidationError, limit: int = 20) -> list[Problem]:
    """The first `limit` problems of a failed validation."""
    found = []
    for err in exc.errors(include_url=False)[:limit]:
        value = None if err["type"] in ("missing", "json_invalid") else _shown(err.get("input"))
        found.append(Problem(field_path(err["loc"]), err["type"], err["msg"], value))
    return found


def _hoist(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    components.update(schema.pop("$defs", {}))
    return schema


def openapi_document(
    contract: Contract, adapter: TypeAdapter[Any], max_batch: int, max_body_bytes: int
) -> dict[str, Any]:
    """OpenAPI 3.1 for every endpoint; the request schema comes from `adapter`, the labels from the contract."""
    components: dict[str, Any] = {}
    components["PredictRequest"] = _hoist(adapter.json_schema(ref_template="#/components/schemas/{model}"), components)
    target = contract.target
    components["PredictResponse"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["predictions", "model_version"],
        "properties": {
            "predictions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["probability", "label"],
                    "properties": {
                        "probability": {
                            "type": "number",
                            "minimum": 0,
                            "maximum": 1,
                            "description": f"probability that {target.column} is {target.positive_label!r}",
                        },
                        "label": {"enum": list(target.labels), "description": "the model's predicted label"},
                    },
                },
            },
            "model_version": {"type": "string"},
        },
    }
    components["Error"] = {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "a short machine-readable kind"},
            "message": {"type": "string", "description": "what is wrong, naming the field"},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "rule", "message"],
                    "properties": {
                        "field": {"type": "string"},
                        "rule": {"type": "string"},
                        "message": {"type": "string"},
                        "value": {},
                    },
                },
            },
            "request_id": {"type": "string"},
        },
    }
    components["Status"] = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
    components["Version"] = {
        "type": "object",
        "required": ["model_version", "git_sha", "data_hash"],
        "properties": {
            "model_version": {"type": "string"},
            "git_sha": {"type": "string"},
            "data_hash": {"type": "string"},
        },
    }

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def json_body(name: str, description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": ref(name)}}}

    def get(summary: str, responses: dict[str, Any]) -> dict[str, Any]:
        return {"get": {"summary": summary, "responses": responses}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{contract.name} model server",
            "version": "1",
            "description": contract.description.strip(),
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": f"Predict {target.column} for 1 to {max_batch} instances",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": ref("PredictRequest")}},
                    },
                    "responses": {
                        "200": json_body("PredictResponse", "one prediction per instance, in order"),
                        "400": json_body("Error", "the body is not valid JSON"),
                        "413": json_body(
                            "Error", f"more than {max_batch} instances or a body over {max_body_bytes} bytes"
                        ),
                        "415": json_body("Error", "the body is not application/json"),
                        "422": json_body("Error", "the body breaks the request schema; `problems` names each field"),
                    },
                }
            },
            "/healthz": get("Liveness: 200 while the process runs", {"200": json_body("Status", "alive")}),
            "/readyz": get(
                "Readiness: the model is loaded, verified and warmed",
                {"200": json_body("Status", "ready"), "503": json_body("Status", "not ready")},
            ),
            "/version": get("The model this process serves", {"200": json_body("Version", "model provenance")}),
            "/metrics": get(
                "Prometheus metrics",
                {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            ),
            "/openapi.json": get(
                "This document",
                {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            ),
        },
        "components": {"schemas": components},
    }
