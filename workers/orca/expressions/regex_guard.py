"""Regular expressions from pipeline authors, compiled only when they cannot run away.

Python's ``re`` has no timeout, and one pattern such as ``(a+)+$`` backtracks
exponentially. Rather than trust a timer we refuse the shapes that cause it: a
repeated group that itself contains a repetition or an alternation (``(a+)+``,
``(a|aa)*``) and back-references. Pattern and input lengths are capped too. Java
and Python regex syntax agree on everything else pipelines commonly use.
"""

from __future__ import annotations

import re

from .errors import ExpressionError, ExpressionLimitError
from .limits import Limits
from .tokenizer import DIGITS


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
    # Each open group records whether it contains a repetition or alternation so far.
    groups: list[bool] = []
    risky_inside = False
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < n and pattern[i + 1] in DIGITS and pattern[i + 1] != "0":
                raise ExpressionError(f"back-references are not allowed in regular expressions: {pattern!r}")
            if i + 1 < n and pattern[i + 1] in "kg":
                raise ExpressionError(f"back-references are not allowed in regular expressions: {pattern!r}")
            i += 2
            continue
        if ch == "[":
            i = _skip_class(pattern, i)
            continue
        if ch == "(":
            groups.append(risky_inside)
            risky_inside = False
            if pattern.startswith("(?P=", i):
                raise ExpressionError(f"back-references are not allowed in regular expressions: {pattern!r}")
            i += 1
            continue
        if ch == ")":
            repeated, after = _quantifier_after(pattern, i + 1)
            if repeated and risky_inside:
                raise ExpressionError(
                    f"regular expression {pattern!r} repeats a group that itself repeats or alternates, "
                    "which can take exponential time; simplify it"
                )
            outer = groups.pop() if groups else False
            risky_inside = outer or risky_inside or repeated
            i = after
            continue
        if ch in "*+|" or (ch == "{" and _quantifier_after(pattern, i)[0]):
            risky_inside = True
        i += 1


def _skip_class(pattern: str, i: int) -> int:
    n = len(pattern)
    i += 1
    if i < n and pattern[i] == "^":
        i += 1
    if i < n and pattern[i] == "]":
        i += 1
    while i < n and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


_BRACE = re.compile(r"\{(\d*)(,?)(\d*)\}")


def _quantifier_after(pattern: str, i: int) -> tuple[bool, int]:
    """Whether a quantifier allowing more than one repetition starts at ``i``, and where it ends."""
    if i >= len(pattern):
        return False, i
    ch = pattern[i]
    if ch in "*+":
        end = i + 1
        return True, end + 1 if end < len(pattern) and pattern[end] in "?+" else end
    if ch == "?":
        return False, i
    if ch == "{":
        match = _BRACE.match(pattern, i)
        if match is None:
            return False, i
        low, comma, high = match.groups()
        many = (bool(comma) and (not high or int(high) > 1)) or (not comma and low != "" and int(low) > 1)
        return many, match.end()
    return False, i
