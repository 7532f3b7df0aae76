"""Model files crafted as an attacker would: a real artifact's schema.json with one node replaced by a payload, the
zip written again by hand, and the record re-hashed (and its `trusted_types` extended) to match, as anyone who can
write `models/` or the DVC remote can do. Each payload writes a marker file when it runs, so a test can prove that
it never did."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from model.core import artifact

#: Node ids far above the ones a real artifact uses (they are renumbered from 1).
_FIRST_ID = 10_000_000


def _str(value: str, node_id: int) -> dict[str, Any]:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
        "__id__": node_id,
    }


def _tuple(*items: str) -> dict[str, Any]:
    content = [_str(item, _FIRST_ID + 1 + i) for i, item in enumerate(items)]
    return {
        "__class__": "tuple",
        "__module__": "builtins",
        "__loader__": "TupleNode",
        "content": content,
        "__id__": _FIRST_ID,
    }


def _called(module: str, name: str, argument: str) -> dict[str, Any]:
    """`module.name(argument)` when built: skops's ConstructorFromReduceNode calls the named type with the args."""
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": _tuple(argument),
        "__id__": _FIRST_ID - 1,
    }


def _reduced(module: str, name: str, argument: str) -> dict[str, Any]:
    """`module.name(argument)` through a ReduceNode whose constructor is taken from the node (skops's LossNode)."""
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "LossNode",
        "__reduce__": {"args": _tuple(argument)},
        "content": {
            "__class__": "dict",
            "__module__": "builtins",
            "__loader__": "DictNode",
            "content": {},
            "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": []},
            "__id__": _FIRST_ID - 2,
        },
        "__id__": _FIRST_ID - 1,
    }


def _operator(name: str, argument: str) -> dict[str, Any]:
    """An `operator.attrgetter`-like callable: the building block of gadget chains (reach any attribute)."""
    return {
        "__class__": name,
        "__module__": "operator",
        "__loader__": "OperatorFuncNode",
        "attrs": _tuple(argument),
        "__id__": _FIRST_ID - 1,
    }


def _write_marker(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('the payload ran')"


#: Fully qualified type the payload names -> the node, given the marker file it creates when it runs.
PAYLOADS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "builtins.exec": lambda marker: _called("builtins", "exec", _write_marker(marker)),
    "builtins.eval": lambda marker: _reduced("builtins", "eval", _write_marker(marker)),
    "os.system": lambda marker: _called("os", "system", f"touch {marker}"),
    "operator.attrgetter": lambda marker: _operator("attrgetter", "__globals__"),
}


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _rehash(model_dir: Path, data: bytes, extra_types: list[str]) -> None:
    """Write the artifact and make the record vouch for it, as an attacker with write access would."""
    (model_dir / artifact.ARTIFACT_NAME).write_bytes(data)
    record = json.loads((model_dir / artifact.RECORD_NAME).read_text(encoding="utf-8"))
    record["sha256"] = hashlib.sha256(data).hexdigest()
    record["trusted_types"] = sorted({*record["trusted_types"], *extra_types})
    (model_dir / artifact.RECORD_NAME).write_text(json.dumps(record), encoding="utf-8")


def plant(model_dir: Path, payload: str, marker: Path) -> None:
    """Replace the pipeline's `memory` attribute in `model_dir`'s artifact with `payload`, re-hash the record."""
    path = model_dir / artifact.ARTIFACT_NAME
    with zipfile.ZipFile(path) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    schema = json.loads(entries["schema.json"])
    attributes = schema["content"]["content"]
    assert "memory" in attributes, "the crafted node replaces Pipeline.memory"
    attributes["memory"] = PAYLOADS[payload](marker)
    entries["schema.json"] = json.dumps(schema).encode()
    _rehash(model_dir, _zip(entries), [payload])


def corrupt(model_dir: Path) -> None:
    """Truncate the artifact to half its size (no longer a zip archive), re-hash the record."""
    data = (model_dir / artifact.ARTIFACT_NAME).read_bytes()
    _rehash(model_dir, data[: len(data) // 2], [])
