"""The one exception the expression language raises, so callers catch a single type.

Every failure — bad syntax, a missing property, a helper that refuses its input, a
budget exceeded — is an :class:`ExpressionError` carrying a reason a pipeline author
can act on. Nothing else escapes :func:`evaluate` or :func:`process`.
"""

from __future__ import annotations


class ExpressionError(Exception):
    """An expression could not be evaluated; ``reason`` says why in the author's terms."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid expression (raised before anything is evaluated)."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{reason}{where}")
        self.position = position


class ExpressionLimitError(ExpressionError):
    """The expression exceeded a safety limit (steps, depth, size, length)."""
