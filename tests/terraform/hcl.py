"""Read the terraform configuration as data (python-hcl2) and evaluate the few expressions the tests need.

`terraform validate` cannot run here (no provider registry), so the invariants that matter — who may assume a
role, who approves production — are checked on the parsed configuration. `render` resolves plain `var.` and
`local.` references only and refuses anything else, so a test never silently passes on an expression it did
not understand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
_OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)
_REFERENCE = re.compile(r"\$\{((?:var|local)\.[A-Za-z0-9_.-]+)\}")


def tf_files(root: Path = TERRAFORM_DIR) -> list[Path]:
    """Every .tf file under `root`, outside `.terraform` provider caches."""
    return sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.parts)


def load(path: Path) -> dict[str, Any]:
    """Parse one HCL file (.tf or .tfvars) into plain data; raises on a syntax error."""
    with path.open(encoding="utf-8") as handle:
        return dict(hcl2.load(handle, serialization_options=_OPTIONS))


@dataclass
class Module:
    """The blocks of one terraform module (every .tf file of one directory), keyed by name."""

    path: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        """The body of resource `kind.name`, with a clear failure when it is missing."""
        if (kind, name) not in self.resources:
            raise AssertionError(f"{self.path}: resource {kind}.{name} not found")
        return self.resources[(kind, name)]

    def defaults(self) -> dict[str, Any]:
        """Variable defaults (variables without one are absent)."""
        return {name: spec["default"] for name, spec in self.variables.items() if "default" in spec}


def load_module(directory: Path) -> Module:
    """Merge every .tf file of `directory` into one Module."""
    module = Module(directory)
    for path in sorted(directory.glob("*.tf")):
        parsed = load(path)
        for block in parsed.get("variable", []):
            module.variables.update(block)
        for block in parsed.get("locals", []):
            module.locals.update(block)
        for kind, target in (("resource", module.resources), ("data", module.data)):
            for block in parsed.get(kind, []):
                for type_name, instances in block.items():
                    for name, body in instances.items():
                        target[(type_name, name)] = body
        for block in parsed.get("module", []):
            module.modules.update(block)
        module.terraform.extend(parsed.get("terraform", []))
    return module


def render(value: Any, variables: dict[str, Any], locals_: dict[str, Any], depth: int = 0) -> Any:
    """Resolve `${var.x}` and `${local.a.b}` in strings, lists and dicts; refuse any other expression."""
    if depth > 20:
        raise ValueError(f"reference loop while rendering {value!r}")
    if isinstance(value, list):
        return [render(item, variables, locals_, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: render(item, variables, locals_, depth + 1) for key, item in value.items()}
    if not isinstance(value, str):
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole:
        return render(_lookup(whole.group(1), variables, locals_), variables, locals_, depth + 1)

    def substitute(match: re.Match[str]) -> str:
        resolved = render(_lookup(match.group(1), variables, locals_), variables, locals_, depth + 1)
        if not isinstance(resolved, str):
            raise ValueError(f"{match.group(0)} is not a string inside {value!r}")
        return resolved

    rendered = _REFERENCE.sub(substitute, value)
    if "${" in rendered:
        raise ValueError(f"cannot evaluate {value!r}: only var. and local. references are supported")
    return rendered


def _lookup(reference: str, variables: dict[str, Any], locals_: dict[str, Any]) -> Any:
    scope, _, path = reference.partition(".")
    current: Any = variables if scope == "var" else locals_
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            raise ValueError(f"{reference} is not defined")
        current = current[part]
    return current
