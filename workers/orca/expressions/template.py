"""Finds the ``${ … }`` expressions inside a string, as SpEL's template parser does.

The closing ``}`` is the one that balances the opening brace, skipping braces,
brackets and parentheses nested inside and anything inside quotes, so
``${ {'a': 1}['a'] }`` and ``${ '}' }`` are single expressions.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ExpressionSyntaxError

PREFIX = "${"


@dataclass(frozen=True, slots=True)
class Expression:
    """One ``${ … }``: ``text`` is what is between the delimiters."""

    text: str
    start: int


type Part = str | Expression


def split_template(source: str) -> list[Part]:
    """Literal text and expressions in order; raises when a ``${`` is never closed or is empty."""
    parts: list[Part] = []
    i = 0
    while True:
        start = source.find(PREFIX, i)
        if start < 0:
            if i < len(source):
                parts.append(source[i:])
            return parts
        if start > i:
            parts.append(source[i:start])
        end = _closing_brace(source, start + len(PREFIX))
        text = source[start + len(PREFIX) : end]
        if not text.strip():
            raise ExpressionSyntaxError("no expression inside '${}'", start)
        parts.append(Expression(text, start))
        i = end + 1


def _closing_brace(source: str, i: int) -> int:
    stack: list[str] = []
    pairs = {"(": ")", "[": "]", "{": "}"}
    n = len(source)
    while i < n:
        ch = source[i]
        if ch in "'\"":
            close = source.find(ch, i + 1)
            if close < 0:
                raise ExpressionSyntaxError("unterminated string literal inside '${'", i)
            i = close + 1
            continue
        if ch in pairs:
            stack.append(pairs[ch])
        elif ch in ")]}":
            if not stack:
                if ch == "}":
                    return i
                raise ExpressionSyntaxError(f"unbalanced '{ch}' inside '${{'", i)
            if stack.pop() != ch:
                raise ExpressionSyntaxError(f"unbalanced '{ch}' inside '${{'", i)
        i += 1
    raise ExpressionSyntaxError("no closing '}' for '${'", i)


def is_single_expression(parts: list[Part]) -> bool:
    """True when the whole string is one ``${ … }``, so its typed value replaces the string."""
    return len(parts) == 1 and isinstance(parts[0], Expression)
