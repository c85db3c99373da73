"""Tables for people: aligned plain-text columns under a header row, one row per line.

Every listing the CLI prints (applications, pipelines, executions, dead letters, settings) goes
through :func:`print_table`, so each has a header row and cells follow one rule: ``-`` for
nothing, lists comma-separated, objects as compact JSON, always on one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Aligned columns, two spaces apart, headers first; the last column is not padded.

    >>> print(table(["NAME", "OWNER"], [["shop", "a@b.c"], ["payments", None]]))
    NAME      OWNER
    shop      a@b.c
    payments  -
    """
    lines = [list(headers), *([cell(value) for value in row] for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(headers))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, empty: str) -> None:
    """The table on stdout, or ``empty`` (e.g. ``no applications``) when there are no rows."""
    print(table(headers, rows) if rows else empty)


def cell(value: object) -> str:
    """One table cell: ``-`` for nothing, lists comma-separated, objects as compact JSON, one line."""
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(cell(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return " ".join(str(value).split())


def shorten(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` characters, ending in ``...`` when it was cut.

    >>> shorten("a rather long value", 10)
    'a rathe...'
    """
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."
