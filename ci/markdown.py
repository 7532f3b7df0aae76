"""Small Markdown helpers for reports that read well both rendered on GitHub and raw in a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def number(value: Any, digits: int = 4, signed: bool = False) -> str:
    """A fixed-precision number, `-` for a missing one, anything else as text."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A pipe table with padded columns (aligned in a terminal); columns listed in `right` align right."""
    cells = [[_cell(h) for h in headers], *([_cell(c) for c in row] for row in rows)]
    widths = [max(3, *(len(row[i]) for row in cells)) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        padded = [
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "| " + " | ".join(("-" * (w - 1) + ":") if i in right else "-" * w for i, w in enumerate(widths)) + " |"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def code(text: Any) -> str:
    return f"`{text}`"
