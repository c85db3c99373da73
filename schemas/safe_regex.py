"""Regular expressions from pipeline authors, run only when they cannot run away.

Python's ``re`` has no timeout, and one pattern such as ``(a+)+$`` backtracks exponentially: a
trigger's tag or branch regex, a payload constraint or an expected artifact's ``matchArtifact``
could stall the service matching it for every pipeline. Rather than trust a timer, the shapes that
cause it are refused (:func:`backtracking_problem`): a repeated group that itself contains a
repetition or an alternation (``(a+)+``, ``(a|aa)*``) and back-references. Patterns and the text
they run on are capped in length too. Java and Python regex syntax agree on everything else
pipelines commonly use. Orca's expression language and Echo's trigger matching use the same rule.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_PATTERN = 1024
"""The longest pattern, in characters."""
MAX_TEXT = 64 * 1024
"""The longest text a pattern runs on, in characters."""


class UnsafePattern(ValueError):
    """A pattern that is too long, may backtrack without end, or does not compile; the message says which."""


@lru_cache(maxsize=1024)
def compile_safe(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled, or :class:`UnsafePattern` saying why not."""
    if len(pattern) > MAX_PATTERN:
        raise UnsafePattern(f"regular expression of {len(pattern)} characters exceeds the limit of {MAX_PATTERN}")
    problem = backtracking_problem(pattern)
    if problem is not None:
        raise UnsafePattern(problem)
    try:
        return re.compile(pattern)
    except re.error as error:
        raise UnsafePattern(f"invalid regular expression {pattern!r}: {error}") from None


def fullmatch(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` as a whole (Java's ``String.matches``); raises
    :class:`UnsafePattern` for a pattern :func:`compile_safe` refuses or a text over :data:`MAX_TEXT`."""
    if len(text) > MAX_TEXT:
        raise UnsafePattern(f"text of {len(text)} characters is too long for a regular expression (limit {MAX_TEXT})")
    return compile_safe(pattern).fullmatch(text) is not None


def backtracking_problem(pattern: str) -> str | None:
    """Why ``pattern`` may take exponential time (a back-reference, or a repeated group that itself
    repeats or alternates); ``None`` when it cannot."""
    # Each open group records whether it contains a repetition or alternation so far.
    groups: list[bool] = []
    risky_inside = False
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < n and pattern[i + 1] in "123456789":
                return f"back-references are not allowed in regular expressions: {pattern!r}"
            if i + 1 < n and pattern[i + 1] in "kg":
                return f"back-references are not allowed in regular expressions: {pattern!r}"
            i += 2
            continue
        if ch == "[":
            i = _skip_class(pattern, i)
            continue
        if ch == "(":
            groups.append(risky_inside)
            risky_inside = False
            if pattern.startswith("(?P=", i):
                return f"back-references are not allowed in regular expressions: {pattern!r}"
            i += 1
            continue
        if ch == ")":
            repeated, after = _quantifier_after(pattern, i + 1)
            if repeated and risky_inside:
                return (
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
    return None


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
