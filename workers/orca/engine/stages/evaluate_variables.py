"""``evaluateVariables``: turn ``variables`` (``[{key, value}]``, already evaluated at stage start)
into the stage's outputs, so later stages can read them."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.json_types import Json
from workers.orca.engine.model import Stage
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun


class EvaluateVariablesTask:
    name = "evaluateVariables"

    def run(self, run: TaskRun) -> TaskResult:
        variables = run.stage.context.get("variables") or []
        if not isinstance(variables, list):
            return TaskResult.terminal("variables must be a list of {key, value}")
        outputs: Json = {}
        for index, variable in enumerate(variables):
            key = variable.get("key") if isinstance(variable, dict) else None
            if not isinstance(key, str) or not key:
                return TaskResult.terminal(f"variables[{index}] has no key")
            outputs[key] = variable.get("value")
        return TaskResult.succeeded(outputs=outputs)


class EvaluateVariablesStage:
    type = "evaluateVariables"

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (EvaluateVariablesTask(),)
