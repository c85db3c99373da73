"""Regular expressions from pipeline authors, compiled only when they cannot run away.

Python's ``re`` has no timeout, and one pattern such as ``(a+)+$`` backtracks
exponentially. Rather than trust a timer we refuse the shapes that cause it: a
repeated group that itself contains a repetition or an alternation (``(a+)+``,
``(a|aa)*``) and back-references (:func:`schemas.safe_regex.backtracking_problem`,
the rule Echo's trigger matching uses too). Pattern and input lengths are capped
too, by the expression limits. Java and Python regex syntax agree on everything
else pipelines commonly use.
"""

from __future__ import annotations

import re

from schemas.safe_regex import backtracking_problem

from .errors import ExpressionError, ExpressionLimitError
from .limits import Limits


def compile_pattern(pattern: str, limits: Limits) -> re.Pattern[str]:
    """Compile ``pattern`` after the safety checks, or raise :class:`ExpressionError` saying why."""
    if len(pattern) > limits.max_regex_length:
        raise ExpressionLimitError(
            f"regular expression of {len(pattern)} characters exceeds the limit of {limits.max_regex_length}"
        )
    _refuse_backtracking(pattern)
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ExpressionError(f"invalid regular expression {pattern!r}: {error}") from None


def check_input(text: str, limits: Limits) -> None:
    if len(text) > limits.max_regex_input:
        raise ExpressionLimitError(
            f"text of {len(text)} characters is too long for a regular expression (limit {limits.max_regex_input})"
        )


def _refuse_backtracking(pattern: str) -> None:
    problem = backtracking_problem(pattern)
    if problem is not None:
        raise ExpressionError(problem)
