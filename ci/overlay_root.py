"""Where promotions may write: the configured overlays root, real directories only, committed as rendered.

`--overlays k8s/evil` once promoted into a committed directory that no Argo CD Application syncs, and a symlinked
overlay would have written through the link. The root is configuration, not a flag: `k8s/overlays`, or the
`[tool.lighthouse] overlays` key of the repository's pyproject.toml (a reviewed file). Every check here runs before
any policy check, so nothing is read through a link.
"""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

from model.core.errors import LighthouseError

DEFAULT_OVERLAYS = "k8s/overlays"


class OverlayRootError(LighthouseError):
    """The overlays directory is not the configured one, leaves the repository, or goes through a symlink."""


def configured(root: Path) -> str:
    """The overlays root the repository declares (pyproject.toml `[tool.lighthouse] overlays`), else the default."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return DEFAULT_OVERLAYS
    try:
        tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
    except tomllib.TOMLDecodeError as exc:
        raise OverlayRootError(f"{pyproject}: not valid TOML ({exc}); cannot read [tool.lighthouse] overlays") from exc
    value = tool.get("lighthouse", {}).get("overlays", DEFAULT_OVERLAYS)
    if not isinstance(value, str) or not value.strip("/"):
        raise OverlayRootError(f"{pyproject}: [tool.lighthouse] overlays must be a relative path, got {value!r}")
    return _normalise(value, str(pyproject))


def confine(root: Path, overlays: str, environments: tuple[str, ...]) -> str:
    """`overlays` normalised, after proving it is the configured root and that nothing on the way is a symlink."""
    wanted = configured(root)
    given = _normalise(overlays, "--overlays")
    if given != wanted:
        raise OverlayRootError(
            f"--overlays {overlays}: promotions write only into the configured overlays root {wanted!r} "
            "(set [tool.lighthouse] overlays in pyproject.toml to move it)"
        )
    current = root
    for part in PurePosixPath(given).parts:
        current = current / part
        _refuse_link(current, root)
    for env in environments:
        directory = current / env
        _refuse_link(directory, root)
        for name in ("kustomization.yaml", "release.json"):
            _refuse_link(directory / name, root)
    return given


def _normalise(value: str, source: str) -> str:
    path = PurePosixPath(value.strip())
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise OverlayRootError(f"{source}: {value!r} must be a path inside the repository, without '..'")
    return str(path)


def _refuse_link(path: Path, root: Path) -> None:
    if path.is_symlink():
        raise OverlayRootError(
            f"{path.relative_to(root)}: is a symbolic link (to {path.readlink()}); promotions never write through links"
        )
