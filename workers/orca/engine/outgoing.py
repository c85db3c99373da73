"""The messages a transition causes, and how each is built: :class:`Outgoing` and its builders.

Every transition returns a list of :class:`Outgoing`; :mod:`workers.orca.engine.commit` stores them
with the execution (the outbox) and delivers them after. The builders live here, apart from the
state machine, so the stage types' I/O (answers, child pipelines) and the reconciler build the same
messages without importing :mod:`workers.orca.engine.transitions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bus import new_id
from schemas.base import Command, Event
from schemas.orca_engine import (
    CompleteExecution,
    CompleteStage,
    CompleteTask,
    ExecutionCompleted,
    ExecutionPaused,
    ExecutionResumed,
    ExecutionStarted,
    RunTask,
    StageCompleted,
    StageJudged,
    StageStarted,
    StartStage,
)
from workers.orca.engine.model import Execution, Stage, Task
from workers.orca.engine.status import ExecutionStatus as S


@dataclass(frozen=True)
class Outgoing:
    """A message a transition causes: a command (``to`` its owner unless named), or an event;
    ``due_at`` (epoch ms) delays it through a durable timer; ``envelope_id`` fixes its envelope's id."""

    message: Command | Event
    to: str | None = None
    due_at: int | None = None
    envelope_id: str | None = None


def start_stages(execution: Execution, stages: Sequence[Stage]) -> list[Outgoing]:
    """A ``StartStage`` for each of ``stages``."""
    return [Outgoing(StartStage(execution_id=execution.id, stage_id=stage.id)) for stage in stages]


def start_task(execution: Execution, stage: Stage, task: Task, now: int) -> Outgoing:
    """``task`` RUNNING with a fresh token, and the ``RunTask`` that runs it now."""
    task.status = S.RUNNING
    task.start_time = task.start_time or now
    task.token = new_id()
    task.wakes_at = now
    return run_task_message(execution, stage, task, None)


def run_task_message(execution: Execution, stage: Stage, task: Task, due_at: int | None) -> Outgoing:
    """The ``RunTask`` of ``task`` with its current token, now or at ``due_at``."""
    assert task.token is not None
    message = RunTask(execution_id=execution.id, stage_id=stage.id, task_id=task.id, token=task.token)
    return Outgoing(message, due_at=due_at)


def complete_task_message(execution: Execution, stage: Stage, task: Task, status: S) -> Outgoing:
    """The ``CompleteTask`` of ``task`` with ``status``."""
    return Outgoing(CompleteTask(execution_id=execution.id, stage_id=stage.id, task_id=task.id, status=status.value))


def complete_stage_message(execution: Execution, stage: Stage) -> Outgoing:
    """The ``CompleteStage`` of ``stage``."""
    return Outgoing(CompleteStage(execution_id=execution.id, stage_id=stage.id))


def complete_execution_message(execution: Execution) -> Outgoing:
    """The ``CompleteExecution`` of ``execution``."""
    return Outgoing(CompleteExecution(execution_id=execution.id))


def execution_started(execution: Execution) -> Outgoing:
    """The ``orca.execution.started`` event of ``execution``."""
    return Outgoing(execution_event(ExecutionStarted, execution))


def execution_event[E: (ExecutionStarted, ExecutionCompleted)](kind: type[E], execution: Execution) -> E:
    """An execution event of ``kind`` as ``execution`` stands now."""
    return kind(
        execution_id=execution.id,
        application=execution.application,
        name=execution.name,
        pipeline_config_id=execution.pipeline_config_id,
        status=execution.status.value,
    )


def execution_paused(execution: Execution, user: str) -> Outgoing:
    """The ``orca.execution.paused`` event of ``execution``, paused by ``user``."""
    paused = ExecutionPaused(
        execution_id=execution.id,
        application=execution.application,
        name=execution.name,
        pipeline_config_id=execution.pipeline_config_id,
        paused_by=user,
    )
    return Outgoing(paused)


def execution_resumed(execution: Execution, user: str) -> Outgoing:
    """The ``orca.execution.resumed`` event of ``execution``, resumed by ``user``."""
    resumed = ExecutionResumed(
        execution_id=execution.id,
        application=execution.application,
        name=execution.name,
        pipeline_config_id=execution.pipeline_config_id,
        resumed_by=user,
        paused_ms=execution.paused.paused_ms if execution.paused is not None else 0,
    )
    return Outgoing(resumed)


def stage_started(execution: Execution, stage: Stage) -> Outgoing:
    """The ``orca.stage.started`` event of ``stage``."""
    return Outgoing(_stage_event(StageStarted, execution, stage))


def stage_completed(execution: Execution, stage: Stage) -> Outgoing:
    """The ``orca.stage.completed`` event of ``stage``."""
    return Outgoing(_stage_event(StageCompleted, execution, stage))


def stage_judged(execution: Execution, stage: Stage, user: str) -> Outgoing:
    """The ``orca.stage.judged`` event of ``stage``, judged by ``user`` as its context now says."""
    judged = StageJudged(
        execution_id=execution.id,
        application=execution.application,
        stage_id=stage.id,
        ref_id=stage.ref_id,
        name=stage.name,
        judgment_status=str(stage.context.get("judgmentStatus")),
        judged_by=user,
    )
    return Outgoing(judged)


def _stage_event[E: (StageStarted, StageCompleted)](kind: type[E], execution: Execution, stage: Stage) -> E:
    return kind(
        execution_id=execution.id,
        application=execution.application,
        stage_id=stage.id,
        ref_id=stage.ref_id,
        stage_type=stage.type,
        name=stage.name,
        status=stage.status.value,
    )
