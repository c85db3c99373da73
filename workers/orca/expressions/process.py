"""The entry points the engine calls: evaluate one expression, or every ``${ … }`` in a stage's context.

:func:`process` never raises for a bad expression. Like Orca it leaves the original
text in place and records why in an ``expressionEvaluationSummary``-shaped dict,
so the stage can show every failure at once and decide whether to fail.
:func:`evaluate` is for a single expression whose caller wants the exception
(preconditions, ``stageEnabled``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ExpressionError, ExpressionLimitError
from .evaluator import Evaluator
from .helpers import HelperRegistry
from .limits import DEFAULT_LIMITS, Limits
from .normalize import to_json_value
from .parser import parse
from .registry import DEFAULT_HELPERS
from .template import PREFIX, Expression, Part, is_single_expression, split_template
from .values import Value, check_string, to_string

SUMMARY_KEY = "expressionEvaluationSummary"
"""Where Orca stores the summary in a stage's context."""


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class ProcessedValue:
    """The value with its expressions replaced, and what could not be replaced.

    ``summary`` maps each failed expression (the text between ``${`` and ``}``) to a
    list of ``{"description", "exceptionType", "level", "timestamp"}`` entries, as in
    Orca. Level ``ERROR`` means the expression failed; ``INFO`` means it evaluated to
    null, so Orca's rule leaves its text as written.
    """

    value: Any
    summary: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Whether any expression raised an error (the stage should fail unless it opts out)."""
        return any(entry["level"] == "ERROR" for entries in self.summary.values() for entry in entries)

    @property
    def failures(self) -> list[str]:
        """Every ERROR description, in the order they were found."""
        return [e["description"] for entries in self.summary.values() for e in entries if e["level"] == "ERROR"]

    def failure_message(self) -> str:
        """One message for a failed stage, naming each failed expression."""
        return "; ".join(self.failures)


def evaluate(
    expression: str,
    root: Mapping[str, Any],
    *,
    helpers: HelperRegistry = DEFAULT_HELPERS,
    limits: Limits = DEFAULT_LIMITS,
    current_stage_id: str | None = None,
) -> Value:
    """Evaluate one expression and return its value, or raise :class:`ExpressionError`.

    ``expression`` may be bare (``parameters.env == 'prod'``), one ``${ … }`` (its typed
    value is returned), or text with several ``${ … }`` (a string is returned, with any part
    that evaluated to null left as written).

    >>> evaluate("${parameters.env == 'prod' ? 'big' : 'small'}", {"parameters": {"env": "prod"}})
    'big'
    """
    plain_root = _root(root)
    if PREFIX not in expression:
        return _evaluate_text(expression, plain_root, helpers, limits, current_stage_id)
    parts = split_template(expression)
    if is_single_expression(parts):
        part = parts[0]
        assert isinstance(part, Expression)
        return _evaluate_text(part.text, plain_root, helpers, limits, current_stage_id)
    rendered: list[str] = []
    for part in parts:
        if isinstance(part, str):
            rendered.append(part)
        else:
            value = _evaluate_text(part.text, plain_root, helpers, limits, current_stage_id)
            rendered.append(_unresolved(part) if value is None else to_string(value))
    return check_string("".join(rendered), limits)


def process(
    value: Any,
    root: Mapping[str, Any],
    *,
    helpers: HelperRegistry = DEFAULT_HELPERS,
    limits: Limits = DEFAULT_LIMITS,
    current_stage_id: str | None = None,
    clock: Callable[[], int] = _now_ms,
) -> ProcessedValue:
    """Replace every ``${ … }`` in any string inside ``value`` (a JSON value: dicts, lists, scalars).

    A string that is exactly one expression becomes the expression's typed value (or stays
    as written when that value is null); a string mixing text and expressions stays a
    string, a part that evaluated to null left as written. Map keys are processed too.
    When any expression in a string fails, that string is left exactly as it was
    and each failure is recorded in the summary. ``root`` is usually
    :func:`~workers.orca.expressions.context.stage_root`; it must be JSON-like
    (``TypeError`` otherwise — a caller bug, not a pipeline error).

    >>> process({"size": "${parameters.env == 'prod' ? 'big' : 'small'}"}, {"parameters": {"env": "dev"}}).value
    {'size': 'small'}
    """
    walker = _Walker(_root(root), helpers, limits, current_stage_id, clock)
    return ProcessedValue(walker.walk(value, ""), walker.summary)


def _root(root: Mapping[str, Any]) -> dict[str, Value]:
    plain = to_json_value(root)
    if not isinstance(plain, dict):
        raise TypeError("the expression root must be a mapping")
    return plain


def _evaluate_text(
    text: str,
    root: dict[str, Value],
    helpers: HelperRegistry,
    limits: Limits,
    current_stage_id: str | None,
) -> Value:
    try:
        tree = parse(text, limits)
        return Evaluator(root, helpers, limits, current_stage_id).evaluate(tree)
    except RecursionError:
        raise ExpressionLimitError("expression or data is nested too deeply to evaluate") from None


class _Walker:
    def __init__(
        self,
        root: dict[str, Value],
        helpers: HelperRegistry,
        limits: Limits,
        current_stage_id: str | None,
        clock: Callable[[], int],
    ) -> None:
        self._root = root
        self._helpers = helpers
        self._limits = limits
        self._stage_id = current_stage_id
        self._clock = clock
        self.summary: dict[str, list[dict[str, Any]]] = {}

    def walk(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            return self._string(value, path) if PREFIX in value else value
        if isinstance(value, Mapping):
            result: dict[Any, Any] = {}
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                new_key = key
                if isinstance(key, str) and PREFIX in key:
                    evaluated = self._string(key, child)
                    new_key = evaluated if isinstance(evaluated, str) else to_string(evaluated)
                result[new_key] = self.walk(item, child)
            return result
        if isinstance(value, list | tuple):
            return [self.walk(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return value

    def _string(self, source: str, path: str) -> Any:
        try:
            parts = split_template(source)
        except ExpressionError as error:
            self._record(_escape_simple(source), path, error.reason, type(error).__name__, "ERROR")
            return source
        results: list[tuple[Expression, Value]] = []
        failed = False
        for part in parts:
            if isinstance(part, str):
                continue
            try:
                value = _evaluate_text(part.text, self._root, self._helpers, self._limits, self._stage_id)
            except ExpressionError as error:
                self._record(part.text.strip(), path, error.reason, type(error).__name__, "ERROR")
                failed = True
                continue
            if value is None:
                self._record(part.text.strip(), path, "not found (the expression evaluated to null)", None, "INFO")
            results.append((part, value))
        if failed:
            return source
        if is_single_expression(parts):
            value = results[0][1]
            return source if value is None else value
        return self._render(parts, dict((id(p), v) for p, v in results), source, path)

    def _render(self, parts: list[Part], values: dict[int, Value], source: str, path: str) -> str:
        rendered: list[str] = []
        for part in parts:
            if isinstance(part, str):
                rendered.append(part)
            else:
                value = values[id(part)]
                rendered.append(_unresolved(part) if value is None else to_string(value))
        text = "".join(rendered)
        if len(text) > self._limits.max_string_length:
            self._record(_escape_simple(source), path, "the result exceeds the string size limit",
                         "ExpressionLimitError", "ERROR")  # fmt: skip
            return source
        return text

    def _record(self, expression: str, path: str, reason: str, exception_type: str | None, level: str) -> None:
        where = f"[{path}] " if path else ""
        self.summary.setdefault(expression, []).append(
            {
                "description": f"Failed to evaluate {where}{reason}",
                "exceptionType": exception_type,
                "level": level,
                "timestamp": self._clock(),
            }
        )


def _unresolved(part: Expression) -> str:
    """A part of a longer string that evaluated to null stays as written, as in Orca (kork's
    ``ExpressionTransform``), so ``v-${trigger['tag']}`` shows what did not resolve."""
    return f"{PREFIX}{part.text}}}"


def _escape_simple(source: str) -> str:
    """Orca's key for a string that would not parse: the text inside ``${ }``, else the text without ``$``."""
    stripped = source.strip()
    if stripped.startswith(PREFIX) and stripped.endswith("}"):
        return stripped[len(PREFIX) : -1].strip()
    return source.replace("$", "")
