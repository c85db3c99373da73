"""Stage types other services provide, run by message contract (``orca.RunExternalTask`` out,
``<service>.task.completed`` back; see :mod:`schemas.orca_engine`).

The task sends the command once per attempt, then waits for the answer (or the stage's
``stageTimeoutMs``) without a timer of its own; the answer completes the task.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.orca_engine import RunExternalTask
from workers.orca.engine.model import Stage
from workers.orca.engine.stages.base import Outbound, TaskDefinition, TaskResult, TaskRun


class ExternalTask:
    name = "runExternalTask"

    def __init__(self, service: str) -> None:
        self.service = service

    def run(self, run: TaskRun) -> TaskResult:
        if run.task.attempt > 0:
            return TaskResult.running(backoff_ms=None)  # sent already; the answer will run us again
        command = RunExternalTask(
            execution_id=run.execution.id,
            stage_id=run.stage.id,
            task_id=run.task.id,
            attempt=1,
            application=run.execution.application,
            stage_type=run.stage.type,
            context=run.stage.context,
            trigger=run.execution.trigger,
        )
        return TaskResult.running(backoff_ms=None, send=(Outbound(command, to=self.service),), attempt=1)


class ExternalStage:
    """A stage of ``type`` run by ``service``."""

    def __init__(self, type: str, service: str) -> None:
        self.type = type
        self.service = service

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (ExternalTask(self.service),)
