"""Which numbers a JSON document may carry into Gennaker: those every part can hold without breaking.

JSON itself has no bound on numbers, and Python's parsers take ``123…`` with a thousand digits,
``1e400`` (infinity), ``NaN`` and ``Infinity`` alike. Downstream they break things far from where
they came in: MongoDB stores integers of at most 64 bits (BSON raises ``OverflowError``), a wait of
``1e308`` seconds overflows a date, and ``NaN`` compares unequal to itself. So every document that
crosses a boundary (an HTTP body at the gateway, an envelope received from the bus) is checked
once, here, and refused naming the field: a number must lie within the range of a 64-bit signed
integer, and a decimal must also be finite.

Example::

    problem = unsafe_number({"stages": [{"waitTime": 1e308}]})
    assert problem == NumberProblem("stages[0].waitTime", "1e+308 is beyond ±9223372036854775807")
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
FLOAT_LIMIT = float(2**63)


@dataclass(frozen=True)
class NumberProblem:
    """A number no part of Gennaker can hold: where it is (``stages[0].waitTime``) and why."""

    field: str
    message: str


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _describe(value: int | float) -> str:
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return text if len(text) <= 24 else f"an integer of {len(text.lstrip('-'))} digits"


def number_problem(value: int | float) -> str | None:
    """Why ``value`` cannot be stored or computed with (``None``: it can)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return f"{_describe(value)} is beyond the 64-bit integer range (±{INT64_MAX})"
    if math.isnan(value) or math.isinf(value):
        return f"{value!r} is not a number JSON allows; send a finite number"
    if -FLOAT_LIMIT <= value <= FLOAT_LIMIT:
        return None
    return f"{_describe(value)} is beyond ±{INT64_MAX}"


def unsafe_number(document: Any, root: str = "") -> NumberProblem | None:
    """The first number in ``document`` (parsed JSON) that :func:`number_problem` refuses, if any.

    Walks without recursion, so a deeply nested document cannot exhaust the stack; the path is
    dotted with ``[i]`` for list items and relative to ``root`` (``"data"``: ``data.n``). Paths are
    only spelled out for the number refused, so checking a large pipeline costs little.
    """
    if type(document) is not dict and type(document) is not list:
        message = number_problem(document) if isinstance(document, int | float) else None
        return NumberProblem(root or "body", message) if message else None
    stack: list[tuple[Any, Trail]] = [(document, None)]
    while stack:
        container, trail = stack.pop()
        items = container.items() if type(container) is dict else enumerate(container)
        for key, item in items:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, (key, trail)))
            elif (kind is int and not INT64_MIN <= item <= INT64_MAX) or (
                kind is float and not -FLOAT_LIMIT <= item <= FLOAT_LIMIT
            ):
                message = number_problem(item) or "out of range"
                return NumberProblem(_spell(root, (key, trail)) or "body", message)
    return None


type Trail = tuple[str | int, Trail] | None
"""The keys from a value up to the document's root, innermost first."""


def _spell(root: str, trail: Trail) -> str:
    keys: list[str | int] = []
    while trail is not None:
        key, trail = trail
        keys.append(key)
    path = root
    for key in reversed(keys):
        path = _path(path, key)
    return path
