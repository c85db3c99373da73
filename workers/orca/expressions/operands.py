"""What an expression read from the data, and what it found: so a false condition can say why.

"Expression ${trigger.parameters.env == 'prod'} is false" leaves a person guessing;
"... (trigger.parameters.env is 'staging')" does not. :func:`operands` parses the expression,
finds each value it reads (a property path, an index, a method or ``#helper(…)`` call: the
outermost such read of every operand of its comparisons, logic and conditionals) and evaluates
each on its own, with the same root, helpers and limits. A read that fails on its own (the left
side of ``a != null && a.size() > 0`` guarded it) is left out rather than shown as an error the
expression never met. :func:`render` writes a read back as expression text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import ExpressionError
from .evaluator import Evaluator
from .helpers import HelperRegistry
from .limits import DEFAULT_LIMITS, Limits
from .nodes import (
    Binary,
    Elvis,
    FunctionCall,
    Index,
    ListLiteral,
    Literal,
    Logical,
    MapLiteral,
    MethodCall,
    Node,
    Projection,
    Property,
    Selection,
    Ternary,
    Unary,
    Variable,
)
from .normalize import to_json_value
from .parser import parse
from .registry import DEFAULT_HELPERS
from .template import PREFIX, Expression, is_single_expression, split_template
from .values import Value

MAX_OPERANDS = 6
"""At most this many reads are reported (a long expression's message stays readable)."""
MAX_SHOWN = 120
"""A value shown longer than this many characters is cut."""


def operands(
    expression: str,
    root: Mapping[str, Any],
    *,
    helpers: HelperRegistry = DEFAULT_HELPERS,
    limits: Limits = DEFAULT_LIMITS,
    current_stage_id: str | None = None,
) -> list[tuple[str, Value]]:
    """Each value ``expression`` (bare, or one ``${ … }``) reads, as ``(text, value)``, in order.

    >>> operands("${parameters.env == 'prod'}", {"parameters": {"env": "dev"}})
    [('parameters.env', 'dev')]

    An expression that does not parse, or text holding several ``${ … }``, reads nothing here.
    """
    text = _inner(expression)
    if text is None:
        return []
    try:
        tree = parse(text, limits)
    except ExpressionError:
        return []
    reads: list[Node] = []
    _collect(tree, reads)
    plain = to_json_value(root)
    if not isinstance(plain, dict):
        return []
    found: list[tuple[str, Value]] = []
    for node in reads:
        shown = render(node)
        if any(shown == seen for seen, _ in found):
            continue
        try:
            value = Evaluator(plain, helpers, limits, current_stage_id).evaluate(node)
        except (ExpressionError, RecursionError):
            continue
        found.append((shown, value))
        if len(found) == MAX_OPERANDS:
            break
    return found


def shown(value: Value) -> str:
    """A value as the expression language writes it: ``'staging'``, ``null``, ``true``, ``[1,2]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = "'" + value.replace("'", "''") + "'"
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _inner(expression: str) -> str | None:
    if PREFIX not in expression:
        return expression
    try:
        parts = split_template(expression)
    except ExpressionError:
        return None
    if not is_single_expression(parts):
        return None
    part = parts[0]
    return part.text if isinstance(part, Expression) else None


def _collect(node: Node, reads: list[Node]) -> None:
    """The outermost reads under ``node``'s operators, left to right."""
    match node:
        case Property() | Index() | MethodCall() | FunctionCall() | Variable() | Selection() | Projection():
            reads.append(node)
        case Unary(operand=operand):
            _collect(operand, reads)
        case Binary(left=left, right=right) | Logical(left=left, right=right):
            _collect(left, reads)
            _collect(right, reads)
        case Ternary(condition=condition, if_true=if_true, if_false=if_false):
            for each in (condition, if_true, if_false):
                _collect(each, reads)
        case Elvis(value=value, fallback=fallback):
            _collect(value, reads)
            _collect(fallback, reads)
        case ListLiteral(items=items):
            for item in items:
                _collect(item, reads)
        case MapLiteral(entries=entries):
            for _, item in entries:
                _collect(item, reads)
        case Literal():
            pass


def render(node: Node) -> str:
    """``node`` written as expression text (``trigger.parameters['env']``, ``#stage('bake').status``)."""
    match node:
        case Literal(value=value):
            return shown(value)
        case ListLiteral(items=items):
            return "{" + ", ".join(render(item) for item in items) + "}"
        case MapLiteral(entries=entries):
            return (
                "{" + ", ".join(f"{render(key)}: {render(item)}" for key, item in entries) + "}" if entries else "{:}"
            )
        case Property(target=None, name=name):
            return name
        case Property(target=target, name=name, safe=safe):
            assert target is not None
            return f"{render(target)}{'?.' if safe else '.'}{name}"
        case Index(target=target, index=index, safe=safe):
            return f"{render(target)}{'?.[' if safe else '['}{render(index)}]"
        case MethodCall(target=target, name=name, args=args, safe=safe):
            call = f"{name}({', '.join(render(arg) for arg in args)})"
            return call if target is None else f"{render(target)}{'?.' if safe else '.'}{call}"
        case Variable(name=name):
            return f"#{name}"
        case FunctionCall(name=name, args=args):
            return f"#{name}({', '.join(render(arg) for arg in args)})"
        case Selection(target=target, predicate=predicate, mode=mode):
            opener = {"all": ".?[", "first": ".^[", "last": ".$["}[mode]
            return f"{render(target)}{opener}{render(predicate)}]"
        case Projection(target=target, expression=expression):
            return f"{render(target)}.![{render(expression)}]"
        case Unary(op=op, operand=operand):
            return f"{op}{_grouped(operand)}"
        case Binary(op=op, left=left, right=right) | Logical(op=op, left=left, right=right):
            return f"{_grouped(left)} {op} {_grouped(right)}"
        case Ternary(condition=condition, if_true=if_true, if_false=if_false):
            return f"{_grouped(condition)} ? {_grouped(if_true)} : {_grouped(if_false)}"
        case Elvis(value=value, fallback=fallback):
            return f"{_grouped(value)} ?: {_grouped(fallback)}"
    raise TypeError(f"not an expression node: {node!r}")  # pragma: no cover - every node kind is matched


def _grouped(node: Node) -> str:
    text = render(node)
    return f"({text})" if isinstance(node, Binary | Logical | Ternary | Elvis) else text


__all__ = ["MAX_OPERANDS", "operands", "render", "shown"]
