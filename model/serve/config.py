"""Server settings from environment variables (the names in docs/serving-interface.md), validated at start."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

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
    "max_header_bytes": "MAX_HEADER_BYTES",
    "max_headers": "MAX_HEADERS",
    "header_timeout": "HEADER_TIMEOUT",
    "body_timeout": "BODY_TIMEOUT",
    "keepalive_timeout": "KEEPALIVE_TIMEOUT",
    "max_concurrency": "MAX_CONCURRENCY",
    "max_connections": "MAX_CONNECTIONS",
    "shutdown_timeout": "SHUTDOWN_TIMEOUT",
}

#: Seconds, finite and positive, at most an hour.
Seconds = Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)]


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
    #: Request line plus headers, in bytes (431 beyond; nginx allows 4 x 8 KiB, Node 16 KiB).
    max_header_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)
    #: Header fields per request (431 beyond; Apache's and Tomcat's default).
    max_headers: int = Field(default=100, ge=8, le=10_000)
    #: From the connection (or a request's first byte) to the end of its headers (408, or a silent close).
    header_timeout: Seconds = 10.0
    #: From the end of the headers to the end of the body (408).
    body_timeout: Seconds = 15.0
    #: Idle keep-alive connections are closed after this long.
    keepalive_timeout: Seconds = 5.0
    #: Requests served at once (probes and /metrics excepted); more get 503 at once.
    max_concurrency: int = Field(default=64, ge=1, le=100_000)
    #: Open connections; more are closed as soon as they are accepted.
    max_connections: int = Field(default=1024, ge=1, le=1_000_000)
    #: After SIGTERM, the time to answer what was received (below Kubernetes' default 30 s grace period).
    shutdown_timeout: Seconds = 20.0

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
