"""``checkPreconditions``: every precondition in ``preconditions`` must hold, or the stage fails.

* ``expression``: holds when ``context.expression`` is true.
* ``clusterSize`` (``context``: ``credentials``, ``cluster``, ``regions``, ``expected``,
  ``comparison`` one of ``==`` ``!=`` ``<`` ``<=`` ``>`` ``>=``, ``onlyEnabledServerGroups``):
  holds when, in every region, the number of the cluster's server groups compares so with
  ``expected``. Clouddriver counts them (a ``clusterSize`` task by message contract); Orca judges.

A precondition that does not hold fails the stage TERMINAL with its ``failureMessage`` (or a
message naming what was found) — or STOPPED, halting only its branch, when it says
``failPipeline: false``, as Orca does.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from schemas.json_types import Json
from workers.orca.engine.expression_language import SOURCE_KEY, ExpressionFailed, Expressions, shown
from workers.orca.engine.model import Stage
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.stages.external import ExternalTask
from workers.orca.engine.status import ExecutionStatus

KINDS = ("expression", "clusterSize")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class CheckPreconditionsTask:
    """The expression preconditions, and the settings of every other one."""

    name = "checkPreconditions"

    def __init__(self, expressions: Expressions) -> None:
        self.expressions = expressions

    def run(self, run: TaskRun) -> TaskResult:
        for index, precondition in enumerate(_preconditions(run.stage)):
            kind = precondition.get("type")
            context = precondition.get("context") or {}
            if kind not in KINDS:
                return TaskResult.terminal(
                    f"preconditions[{index}]: precondition type {kind!r} is not one of {', '.join(KINDS)}"
                )
            if kind == "clusterSize":
                problem = _cluster_size_problem(context)
                if problem:
                    return TaskResult.terminal(f"preconditions[{index}].context: {problem}")
                continue
            try:
                holds = self.expressions.condition(context.get("expression"), run.execution, run.stage)
            except ExpressionFailed as error:
                return TaskResult.terminal(f"preconditions[{index}]: {error}")
            if not holds:
                message = context.get("failureMessage") or self._why_false(context, run)
                return _failed(precondition, str(message))
        return TaskResult.succeeded()

    def _why_false(self, context: Json, run: TaskRun) -> str:
        """``Expression ${parameters.env == 'prod'} is false (parameters.env is 'dev')``: the expression
        as written (its value replaced it when the stage started) and each value it read."""
        source = context.get(SOURCE_KEY) or context.get("expression")
        written = source if isinstance(source, str) else shown(source)
        seen = self.expressions.operands(source, run.execution, run.stage)
        found = f" ({', '.join(f'{text} is {shown(value)}' for text, value in seen)})" if seen else ""
        return f"Expression {written} is false{found}"


class ClusterSizeVerdictTask:
    """Compares Clouddriver's counts (``clusterSizes``) with each cluster-size precondition."""

    name = "checkClusterSizes"

    def run(self, run: TaskRun) -> TaskResult:
        sizes = run.stage.context.get("clusterSizes") or []
        for index, precondition in enumerate(_preconditions(run.stage)):
            if precondition.get("type") != "clusterSize":
                continue
            context = precondition.get("context") or {}
            expected, comparison = int(context.get("expected", 1)), str(context.get("comparison") or "==")
            for found in (size for size in sizes if size.get("index") == index):
                if not COMPARISONS[comparison](found["size"], expected):
                    message = context.get("failureMessage") or (
                        f"cluster size precondition failed: {found['cluster']} has {found['size']} server groups "
                        f"in {found['region']}, expected {comparison} {expected}"
                    )
                    return _failed(precondition, str(message))
        return TaskResult.succeeded()


class CheckPreconditionsStage:
    """``checkPreconditions``; cluster sizes are counted by Clouddriver when any is asked for."""

    type = "checkPreconditions"

    def __init__(self, expressions: Expressions, cluster_service: str = "clouddriver") -> None:
        self.expressions = expressions
        self.cluster_service = cluster_service

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        own = CheckPreconditionsTask(self.expressions)
        if not any(precondition.get("type") == "clusterSize" for precondition in _preconditions(stage)):
            return (own,)
        count = ExternalTask(self.cluster_service, shape=_cluster_size_request, stage_type="clusterSize")
        return (own, count, ClusterSizeVerdictTask())


def _preconditions(stage: Stage) -> list[Json]:
    value = stage.context.get("preconditions") or []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _cluster_size_problem(context: Json) -> str | None:
    if not context.get("cluster") or not (context.get("credentials") or context.get("account")):
        return "a clusterSize precondition needs 'cluster' and 'credentials'"
    if str(context.get("comparison") or "==") not in COMPARISONS:
        return f"comparison {context.get('comparison')!r} is not one of {' '.join(COMPARISONS)}"
    try:
        int(context.get("expected", 1))
    except (TypeError, ValueError):
        return f"expected must be a whole number, not {context.get('expected')!r}"
    return None


def _cluster_size_request(stage: Stage) -> Json:
    asked = [
        {**(precondition.get("context") or {}), "index": index}
        for index, precondition in enumerate(_preconditions(stage))
        if precondition.get("type") == "clusterSize"
    ]
    return {"preconditions": asked}


def _failed(precondition: Json, message: str) -> TaskResult:
    if precondition.get("failPipeline") is False:
        return TaskResult(ExecutionStatus.STOPPED, error=message)
    return TaskResult.terminal(message)
