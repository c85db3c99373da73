"""``checkPreconditions``: every precondition in ``preconditions`` must hold, or the stage fails.

An ``expression`` precondition holds when ``context.expression`` is true; one that does not fails
the stage TERMINAL with its ``failureMessage`` — or STOPPED (halting only its branch) when the
precondition says ``failPipeline: false``, as Orca does. ``clusterSize`` preconditions need
Clouddriver and report that they are not available yet.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.orca.engine.expressions import ExpressionFailed, Expressions
from workers.orca.engine.model import Stage
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.status import ExecutionStatus


class CheckPreconditionsTask:
    name = "checkPreconditions"

    def __init__(self, expressions: Expressions) -> None:
        self.expressions = expressions

    def run(self, run: TaskRun) -> TaskResult:
        preconditions = run.stage.context.get("preconditions") or []
        for index, precondition in enumerate(preconditions):
            kind = precondition.get("type")
            context = precondition.get("context") or {}
            if kind != "expression":
                return TaskResult.terminal(
                    f"preconditions[{index}]: precondition type {kind!r} is not available "
                    "(this Orca checks 'expression' preconditions)"
                )
            try:
                holds = self.expressions.condition(context.get("expression"), run.execution, run.stage)
            except ExpressionFailed as error:
                return TaskResult.terminal(f"preconditions[{index}]: {error}")
            if not holds:
                message = context.get("failureMessage") or f"Expression {context.get('expression')!r} is false"
                if precondition.get("failPipeline") is False:
                    return TaskResult(ExecutionStatus.STOPPED, error=str(message))
                return TaskResult.terminal(str(message))
        return TaskResult.succeeded()


class CheckPreconditionsStage:
    type = "checkPreconditions"

    def __init__(self, expressions: Expressions) -> None:
        self.expressions = expressions

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (CheckPreconditionsTask(self.expressions),)
