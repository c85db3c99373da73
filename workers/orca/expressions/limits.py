"""Safety limits, so an expression written by any pipeline author costs bounded time and memory.

The evaluator is pure and handles only JSON values, so the remaining risks are
expensive work: long loops over big collections, huge strings, deep nesting and
regular expressions that backtrack. Each has a cap here; exceeding one raises
:class:`~workers.orca.expressions.errors.ExpressionLimitError`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps applied to one expression's parse and evaluation."""

    max_expression_length: int = 10_000
    """Characters inside one ``${ … }``."""
    max_steps: int = 10_000
    """AST nodes visited plus collection elements iterated, per expression."""
    max_depth: int = 64
    """Nesting of the syntax tree (and of literals); bounds recursion."""
    max_string_length: int = 1_000_000
    """Characters in any string an expression produces."""
    max_collection_size: int = 10_000
    """Elements in any list or map an expression produces."""
    max_regex_length: int = 500
    """Characters in a regular expression given to ``matches``, ``split`` or ``replaceAll``."""
    max_regex_input: int = 10_000
    """Characters of text a regular expression may be run against."""


DEFAULT_LIMITS = Limits()
