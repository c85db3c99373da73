"""The syntax tree the parser builds and the evaluator walks.

Plain frozen dataclasses: the tree holds no behaviour, so the grammar (parser) and
the semantics (evaluator) can each be read on their own. ``target=None`` on a
property or method means "the active context object" — the root at top level, the
current element inside a selection or projection — exactly as a bare name does in SpEL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as TypingLiteral

type Node = (
    Literal | ListLiteral | MapLiteral | Property | Index | MethodCall | Variable | FunctionCall
    | Selection | Projection | Unary | Binary | Logical | Ternary | Elvis
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class ListLiteral:
    """SpEL inline list ``{1, 2, 3}``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MapLiteral:
    """SpEL inline map ``{'a': 1, b: 2}`` (a bare key is its own name); ``{:}`` is empty."""

    entries: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True, slots=True)
class Property:
    """``target.name``, ``target?.name``, or a bare ``name`` when ``target`` is None."""

    target: Node | None
    name: str
    safe: bool = False


@dataclass(frozen=True, slots=True)
class Index:
    """``target[index]`` (``target?.[index]`` when safe)."""

    target: Node
    index: Node
    safe: bool = False


@dataclass(frozen=True, slots=True)
class MethodCall:
    """``target.name(args)``; only the whitelisted methods of :mod:`.methods` exist."""

    target: Node | None
    name: str
    args: tuple[Node, ...]
    safe: bool = False


@dataclass(frozen=True, slots=True)
class Variable:
    """``#root``, ``#this`` or another ``#name`` without parentheses."""

    name: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """``#name(args)``: a helper from the registry."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Selection:
    """``target.?[predicate]`` (all), ``.^[…]`` (first) or ``.$[…]`` (last)."""

    target: Node
    predicate: Node
    mode: TypingLiteral["all", "first", "last"]


@dataclass(frozen=True, slots=True)
class Projection:
    """``target.![expression]``."""

    target: Node
    expression: Node


@dataclass(frozen=True, slots=True)
class Unary:
    op: TypingLiteral["!", "-", "+"]
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic, comparison and ``matches``; operands are both always evaluated."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logical:
    """``&&`` / ``||``, short-circuiting."""

    op: TypingLiteral["&&", "||"]
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Ternary:
    condition: Node
    if_true: Node
    if_false: Node


@dataclass(frozen=True, slots=True)
class Elvis:
    """``value ?: fallback`` — the fallback when value is null or the empty string."""

    value: Node
    fallback: Node
