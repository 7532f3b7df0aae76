"""Server settings from environment variables (the names in docs/serving-interface.md), validated at start."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from model.core.errors import ConfigError

#: Set by `python -m model.serve` when WORKERS > 1: where prometheus_client keeps each worker's values.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

LogLevel = Literal["debug", "info", "warning", "error", "critical"]

#: Field name -> environment variable. Only these are read; everything else in the environment is ignored.
ENV_VARS = {
    "model_dir": "MODEL_DIR",
    "host": "HOST",
    "port": "PORT",
    "workers": "WORKERS",
    "max_batch": "MAX_BATCH",
    "max_body_bytes": "MAX_BODY_BYTES",
    "log_level": "LOG_LEVEL",
}


class Settings(BaseModel):
    """Everything an operator can change without a rebuild."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_dir: Path = Path("models")
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=256 * 1_048_576)
    log_level: LogLevel = "info"
    #: Seconds to wait for in-flight requests after SIGTERM (below Kubernetes' default 30 s grace period).
    shutdown_timeout: float = 20.0

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the variables in ENV_VARS; a ConfigError names the variable, the rule and the value."""
        given = {field: environ[var] for field, var in ENV_VARS.items() if environ.get(var, "") != ""}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                field = str(err["loc"][0]) if err["loc"] else ""
                problems.append(f"{ENV_VARS.get(field, field)}={given.get(field)!r}: {err['msg']}")
            raise ConfigError("invalid server settings: " + "; ".join(problems)) from exc
