"""Load a YAML file into a frozen pydantic model, turning every failure into a ConfigError naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from model.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class Frozen(BaseModel):
    """Base for configuration models: immutable, and unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def read_yaml(path: Path) -> Any:
    """Parse a YAML file or raise ConfigError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def format_validation_error(path: Path, exc: ValidationError) -> str:
    """One line per problem: `file: field.path: message (got value)`."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "<root>"
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        lines.append(f"{path}: {where}: {err['msg']}{shown}")
    return "\n".join(lines)


def load_model(path: Path, model_type: type[M]) -> M:
    """Read `path` and validate it as `model_type`."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model_type.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from exc
