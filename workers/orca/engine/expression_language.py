"""The seam between the engine and the expression language (``${ … }`` in a stage's context).

The engine asks two things of expressions: turn every ``${…}`` in a stage's context into its
value when the stage starts (:meth:`Expressions.process`), and decide a condition such as
``stageEnabled`` or an expression precondition (:meth:`Expressions.condition`).
:class:`SpelExpressions` answers both with Orca's expression language
(:mod:`workers.orca.expressions`); :class:`LiteralExpressions` knows literal booleans only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.json_types import Json
from workers.orca import expressions as spel
from workers.orca.engine.model import Execution, Stage

SUMMARY_KEY = spel.SUMMARY_KEY
"""Where a stage's context records the expressions that failed (Orca's ``expressionEvaluationSummary``)."""


def shown(value: Any) -> str:
    """``value`` as an expression writes it (``'dev'``, ``null``, ``false``), for messages."""
    return spel.shown(value)


class ExpressionFailed(ValueError):
    """An expression could not be evaluated; the message says which and why."""


@dataclass(frozen=True)
class Processed:
    """A stage's context with its expressions evaluated; ``failure`` names what failed, if anything."""

    context: Json
    summary: Json = field(default_factory=dict)
    failure: str | None = None


class Expressions(Protocol):
    """What the engine needs from an expression language."""

    def process(self, execution: Execution, stage: Stage) -> Processed:
        """``stage``'s context with every ``${…}`` evaluated."""
        ...

    def condition(self, expression: Any, execution: Execution, stage: Stage) -> bool:
        """The truth of ``expression`` (a boolean, ``"true"``, ``"${ … }"``…) in ``stage``;
        raises :class:`ExpressionFailed`."""
        ...

    def operands(self, expression: Any, execution: Execution, stage: Stage) -> list[tuple[str, Any]]:
        """What ``expression`` reads in ``stage`` and the value of each (``[("parameters.env", "dev")]``),
        for saying why it was false; none for a literal or an expression that does not parse."""
        ...


class SpelExpressions:
    """Spinnaker's expression language, evaluated against the stage's root (context, execution,
    trigger, parameters) as Orca's ``ContextParameterProcessor`` does."""

    def process(self, execution: Execution, stage: Stage) -> Processed:
        """The summary is the latest evaluation's: one stored by an earlier start (before a
        restart) is not carried over, so an expression that now works shows no stale error."""
        if stage.context.get("skipExpressionEvaluation") is True:
            return Processed(stage.context)
        context = {key: value for key, value in stage.context.items() if key != SUMMARY_KEY}
        if not _mentions_expression(context):
            # nothing to evaluate: the root (the whole execution as JSON) is not built, so starting
            # a stage costs nothing by the size of its pipeline
            return Processed(context)
        root = self._root(execution, stage)
        variables = context.get("variables")
        if stage.type != "evaluateVariables" or not isinstance(variables, list):
            sources = _precondition_sources(context) if stage.type == "checkPreconditions" else {}
            if sources:
                context = _with_precondition_expressions(context, sources)
            result = spel.process(context, root, current_stage_id=stage.id)
            value = _with_precondition_expressions(result.value, sources, key=SOURCE_KEY) if sources else result.value
            return Processed(value, result.summary, result.failure_message() if result.failed else None)
        rest = spel.process({k: v for k, v in context.items() if k != "variables"}, root, current_stage_id=stage.id)
        summary, failures = dict(rest.summary), [rest.failure_message()] if rest.failed else []
        evaluated: list[Any] = []
        for index, variable in enumerate(variables):  # each may use the ones before it by name, as in Orca
            source = _variable_source(variable)
            placed = {"variables": [*([None] * index), source]}  # so failures name variables[index]
            one = spel.process(placed, root, current_stage_id=stage.id)
            value = one.value["variables"][index]
            if isinstance(value, dict) and isinstance(source, dict) and _has_expression(source.get("value")):
                value = {**value, "sourceExpression": source["value"]}
            evaluated.append(value)
            summary.update(one.summary)
            if one.failed:
                failures.append(one.failure_message())
            if isinstance(value, dict) and isinstance(value.get("key"), str):
                root = {**root, value["key"]: value.get("value")}
        return Processed({**rest.value, "variables": evaluated}, summary, "; ".join(failures) or None)

    def condition(self, expression: Any, execution: Execution, stage: Stage) -> bool:
        if isinstance(expression, bool):
            return expression
        try:
            value = spel.evaluate(str(expression), self._root(execution, stage), current_stage_id=stage.id)
        except spel.ExpressionError as error:
            raise ExpressionFailed(f"expression {expression!r} failed: {error}") from None
        return _truth(value, expression)

    def operands(self, expression: Any, execution: Execution, stage: Stage) -> list[tuple[str, Any]]:
        if not isinstance(expression, str):
            return []
        return spel.operands(expression, self._root(execution, stage), current_stage_id=stage.id)

    def _root(self, execution: Execution, stage: Stage) -> Json:
        execution_json = execution.to_json()
        stage_json = next(item for item in execution_json["stages"] if item["id"] == stage.id)
        return spel.stage_root(stage_json, execution_json)


class LiteralExpressions:
    """No expression language: contexts pass unchanged, conditions must be literal booleans."""

    def process(self, execution: Execution, stage: Stage) -> Processed:
        return Processed(stage.context)

    def condition(self, expression: Any, execution: Execution, stage: Stage) -> bool:
        if isinstance(expression, bool):
            return expression
        text = str(expression).strip()
        if text.startswith("${") and text.endswith("}"):
            text = text[2:-1].strip()
        return _truth(text, expression)

    def operands(self, expression: Any, execution: Execution, stage: Stage) -> list[tuple[str, Any]]:
        return []


SOURCE_KEY = "sourceExpression"
"""Where a precondition's context keeps its ``expression`` as written, once the stage's start has
replaced it by its value (as ``evaluateVariables`` keeps each variable's), so a failure can name it
and a restart evaluates it afresh."""


def _precondition_sources(context: Json) -> dict[int, str]:
    """The expressions of ``checkPreconditions``' preconditions as written, by index."""
    preconditions = context.get("preconditions")
    sources: dict[int, str] = {}
    for index, precondition in enumerate(preconditions if isinstance(preconditions, list) else []):
        own = precondition.get("context") if isinstance(precondition, dict) else None
        if not isinstance(own, dict):
            continue
        source = own.get(SOURCE_KEY) if _has_expression(own.get(SOURCE_KEY)) else own.get("expression")
        if isinstance(source, str) and _has_expression(source):
            sources[index] = source
    return sources


def _with_precondition_expressions(context: Json, sources: dict[int, str], *, key: str = "expression") -> Json:
    """``context`` with each precondition of ``sources`` given its source under ``key``."""
    preconditions = list(context.get("preconditions") or [])
    for index, source in sources.items():
        precondition = preconditions[index]
        if isinstance(precondition, dict) and isinstance(precondition.get("context"), dict):
            preconditions[index] = {**precondition, "context": {**precondition["context"], key: source}}
    return {**context, "preconditions": preconditions}


def _variable_source(variable: Any) -> Any:
    """A variable as its author wrote it: ``value`` is the ``sourceExpression`` an earlier start kept
    (Orca's ``saveSourceExpression``), so a restarted ``evaluateVariables`` evaluates it afresh."""
    if not isinstance(variable, dict):
        return variable
    source = {key: item for key, item in variable.items() if key != "sourceExpression"}
    if _has_expression(variable.get("sourceExpression")):
        source["value"] = variable["sourceExpression"]
    return source


def _mentions_expression(value: Any) -> bool:
    """Whether any string in ``value`` (a JSON value; map keys included) holds ``${``."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_mentions_expression(key) or _mentions_expression(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_mentions_expression(item) for item in value)
    return False


def _has_expression(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _truth(value: Any, expression: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ExpressionFailed(f"expression {expression!r} is {value!r}, not true or false")
