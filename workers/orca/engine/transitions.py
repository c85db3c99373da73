"""The state machine: one function per message, each one transition of a stored execution.

Each function changes the execution it is given in place and returns the messages the change
causes; :mod:`workers.orca.engine.commit` stores both in one write and delivers the messages
after. Each is idempotent: given a message whose transition already happened, it changes
nothing and returns nothing. Statuses and their rules are Orca's (``CompleteStageHandler``,
``CompleteExecutionHandler``, ``StageExecution.failureStatus``)::

    StartExecution   NOT_STARTED → RUNNING; StartStage for every stage without requisites
    StartStage       NOT_STARTED → RUNNING (first task RUNNING, RunTask) | SKIPPED (stageEnabled false)
    RunTask          run the task: RUNNING again later (timer) | CompleteTask(status)
    CompleteTask     next task RUNNING | CompleteStage
    CompleteStage    RUNNING → status from its tasks; StartStage downstream | CompleteExecution
    CompleteExecution  RUNNING → final status, once it can be decided; cancels what still runs
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bus import new_id
from schemas.base import Command, Event
from schemas.orca_engine import (
    CompleteExecution,
    CompleteStage,
    CompleteTask,
    ExecutionCompleted,
    ExecutionStarted,
    ExternalTaskCompleted,
    RunTask,
    StageCompleted,
    StageStarted,
    StartStage,
    StartWaitingExecutions,
)
from workers.orca.engine import execution_window, graph
from workers.orca.engine.expressions import SUMMARY_KEY, ExpressionFailed, Expressions
from workers.orca.engine.model import Execution, Json, PausedDetails, Stage, Task
from workers.orca.engine.stages import StageTypes, TaskDefinition, TaskResult, TaskRun, UnknownStageType
from workers.orca.engine.status import ExecutionStatus as S

RESUMABLE = (S.RUNNING, S.PAUSED)


@dataclass(frozen=True)
class Outgoing:
    """A message a transition causes: a command (``to`` its owner unless named), or an event;
    ``due_at`` (epoch ms) delays it through a durable timer."""

    message: Command | Event
    to: str | None = None
    due_at: int | None = None


def exception(error: str, at: int, exception_type: str = "StageFailed") -> Json:
    """The ``exception`` entry of a stage's context, in Orca's shape (Deck shows ``details.errors``)."""
    return {
        "details": {"error": error, "errors": [error]},
        "exceptionType": exception_type,
        "shouldRetry": False,
        "timestamp": at,
    }


class Transitions:
    """Orca's handlers' logic, free of storage and transport."""

    def __init__(self, stage_types: StageTypes, expressions: Expressions, *, window_timezone: str = "UTC") -> None:
        self.stage_types = stage_types
        self.expressions = expressions
        self.window_zone = execution_window.zone(window_timezone)

    # --- the chain ----------------------------------------------------------------------------

    def start_execution(self, execution: Execution, now: int) -> list[Outgoing]:
        if execution.status is not S.NOT_STARTED:
            return []
        execution.status = S.RUNNING
        execution.start_time = now
        problems = graph.problems(execution.stages)
        if not graph.initial_stages(execution) and not problems:
            problems = ["the pipeline has no stage without requisiteStageRefIds to start with"]
        if problems:
            execution.exception = exception("; ".join(problems), now, "InvalidPipeline")
            return [_started(execution), *self._finish(execution, S.TERMINAL, now)]
        starts: list[Outgoing] = [
            Outgoing(StartStage(execution_id=execution.id, stage_id=stage.id))
            for stage in graph.initial_stages(execution)
        ]
        return [_started(execution), *starts]

    def start_stage(self, execution: Execution, stage_id: str, now: int) -> list[Outgoing]:
        stage = execution.stage(stage_id)
        if stage is None or stage.status is not S.NOT_STARTED or execution.status.complete:
            return []
        if not graph.ready_to_start(execution, stage):
            return [complete_execution_message(execution)]  # a requisite halted; or the last requisite will start it
        stage.start_time = now
        try:
            enabled = self._enabled(execution, stage)
            if enabled:
                processed = self.expressions.process(execution, stage)
                stage.context = processed.context
                if processed.summary:
                    stage.context[SUMMARY_KEY] = processed.summary
                if processed.failure and stage.context.get("failOnFailedExpressions") is not False:
                    raise ExpressionFailed(f"failed expressions: {processed.failure}")
                definitions = self._tasks(stage)
        except (ExpressionFailed, UnknownStageType, ValueError) as error:
            stage.status = S.RUNNING
            stage.context["exception"] = exception(str(error), now)
            stage.context["beforeStagePlanningFailed"] = True
            return [_stage_started(execution, stage), complete_stage_message(execution, stage)]
        if not enabled:
            stage.status = S.SKIPPED
            stage.end_time = now
            return [_stage_completed(execution, stage), *self._start_next(execution, stage)]
        stage.status = S.RUNNING
        stage.tasks = [
            Task(
                id=str(index + 1),
                name=definition.name,
                implementing_class=type(definition).__name__,
                stage_start=index == 0,
                stage_end=index == len(definitions) - 1,
            )
            for index, definition in enumerate(definitions)
        ]
        if not stage.tasks:
            return [_stage_started(execution, stage), complete_stage_message(execution, stage)]
        return [_stage_started(execution, stage), start_task(execution, stage, stage.tasks[0], now)]

    def run_task(self, execution: Execution, message: RunTask, now: int) -> list[Outgoing]:
        stage = execution.stage(message.stage_id)
        task = stage.task(message.task_id) if stage else None
        if stage is None or task is None or task.status is not S.RUNNING or task.token != message.token:
            return []  # stale: a timer or redelivery for a run that already happened
        task.token = None
        task.wakes_at = None
        if execution.status.complete:
            return []
        if execution.status is S.PAUSED:
            task.status = S.PAUSED
            stage.status = S.PAUSED
            return []
        timeout = _timeout_ms(stage)
        if timeout is not None and now - (stage.start_time or now) >= timeout:
            error = f"stage {stage.name!r} timed out after {timeout} ms (stageTimeoutMs)"
            stage.context["exception"] = exception(error, now, "TimeoutException")
            return [_complete_task(execution, stage, task, stage.failure_status())]
        definitions = self._tasks(stage)
        index = int(task.id) - 1
        try:
            result = definitions[index].run(TaskRun(execution, stage, task, now))
        except Exception as error:  # a task's bug fails its stage, never the worker
            result = TaskResult.terminal(f"task {task.name!r} failed: {type(error).__name__}: {error}")
        return self._apply_result(execution, stage, task, result, now, timeout)

    def complete_task(self, execution: Execution, message: CompleteTask, now: int) -> list[Outgoing]:
        stage = execution.stage(message.stage_id)
        task = stage.task(message.task_id) if stage else None
        if stage is None or task is None or task.status is not S.RUNNING:
            return []
        task.status = S(message.status)
        task.end_time = now
        task.token = None
        task.wakes_at = None
        following = next((other for other in stage.tasks if other.status is S.NOT_STARTED), None)
        if task.status is S.SUCCEEDED and following is not None:
            return [start_task(execution, stage, following, now)]
        return [complete_stage_message(execution, stage)]

    def complete_stage(self, execution: Execution, stage_id: str, now: int) -> list[Outgoing]:
        stage = execution.stage(stage_id)
        if stage is None or stage.status not in RESUMABLE:
            return []
        stage.status = _stage_status(stage)
        stage.end_time = now
        completed = _stage_completed(execution, stage)
        if stage.status.lets_downstream_run:
            return [completed, *self._start_next(execution, stage)]
        return [completed, complete_execution_message(execution)]

    def complete_execution(self, execution: Execution, now: int) -> list[Outgoing]:
        if execution.status.complete:
            return []
        status = final_status(execution)
        if status is None:
            return []
        return self._finish(execution, status, now)

    # --- what operators do --------------------------------------------------------------------

    def cancel_execution(self, execution: Execution, user: str, reason: str | None, now: int) -> list[Outgoing]:
        if execution.status.complete:
            return []
        execution.canceled = True
        execution.canceled_by = user
        execution.cancellation_reason = reason
        if execution.start_time is None:
            execution.start_time = now
        return self._finish(execution, S.CANCELED, now)

    def pause_execution(self, execution: Execution, user: str, now: int) -> list[Outgoing]:
        if execution.status is not S.RUNNING:
            return []
        execution.status = S.PAUSED
        execution.paused = execution.paused or PausedDetails()
        execution.paused.paused_by = user
        execution.paused.pause_time = now
        execution.paused.resume_time = None
        for stage in execution.stages:
            for task in stage.tasks:
                if stage.status is S.RUNNING and task.status is S.RUNNING:
                    task.status = S.PAUSED
                    task.token = None  # its pending timer, if any, becomes stale
                    task.wakes_at = None
            if stage.status is S.RUNNING and any(task.status is S.PAUSED for task in stage.tasks):
                stage.status = S.PAUSED
        return []

    def resume_execution(self, execution: Execution, user: str, now: int) -> list[Outgoing]:
        if execution.status is not S.PAUSED:
            return []
        execution.status = S.RUNNING
        if execution.paused is not None:
            execution.paused.resumed_by = user
            execution.paused.resume_time = now
            execution.paused.paused_ms += now - (execution.paused.pause_time or now)
        runs: list[Outgoing] = []
        for stage in execution.stages:
            if stage.status is not S.PAUSED:
                continue
            stage.status = S.RUNNING
            for task in stage.tasks:
                if task.status is S.PAUSED:
                    runs.append(start_task(execution, stage, task, task.start_time or now))
        return runs

    def skip_stage(self, execution: Execution, stage_id: str, now: int) -> list[Outgoing]:
        stage = execution.stage(stage_id)
        if stage is None or stage.status not in RESUMABLE or execution.status.complete:
            return []
        stage.status = S.SKIPPED
        stage.end_time = now
        for task in stage.tasks:
            if not task.status.complete:
                task.status = S.SKIPPED
                task.end_time = now if task.start_time is not None else None
                task.token = None
                task.wakes_at = None
        return [_stage_completed(execution, stage), *self._start_next(execution, stage)]

    def update_stage(self, execution: Execution, stage_id: str, context: Json, user: str, now: int) -> list[Outgoing]:
        """Merge ``context`` into a stage that has not finished; its running task runs again now."""
        stage = execution.stage(stage_id)
        if stage is None or stage.status.complete or execution.status.complete:
            return []
        if all(stage.context.get(key) == value for key, value in context.items()):
            return []
        stage.context.update(context)
        stage.context["lastModifiedBy"] = user
        stage.last_modified = {"user": user, "lastModifiedTime": now}
        return self._rerun(execution, stage, now)

    def judge_stage(self, execution: Execution, stage_id: str, judgment: Json, user: str, now: int) -> list[Outgoing]:
        """Record a manual judgment once (the first answer wins) and run the stage's task again."""
        stage = execution.stage(stage_id)
        if stage is None or stage.context.get("judgmentStatus"):
            return []
        return self.update_stage(execution, stage_id, {**judgment, "judgedBy": user}, user, now)

    def restart_stage(self, execution: Execution, stage_id: str, user: str, now: int) -> list[Outgoing]:
        """Reset a finished stage and everything downstream of it, reopen the execution, start it."""
        stage = execution.stage(stage_id)
        if stage is None or not stage.status.complete:
            return []
        if not all(requisite.status.lets_downstream_run for requisite in graph.upstream(execution, stage)):
            return []
        for reset in (stage, *graph.all_downstream(execution, stage)):
            reset.status = S.NOT_STARTED
            reset.start_time = reset.end_time = None
            reset.tasks = []
            reset.outputs = {}
            for key in ("exception", "beforeStagePlanningFailed", "judgmentStatus", "judgmentInput", "judgedBy"):
                reset.context.pop(key, None)
        stage.context["restartDetails"] = {"restartedBy": user, "restartTime": now}
        reopened = execution.status.complete
        if reopened:
            execution.status = S.RUNNING
            execution.end_time = None
            execution.canceled = False
        started = [_started(execution)] if reopened else []
        return [*started, Outgoing(StartStage(execution_id=execution.id, stage_id=stage.id))]

    def external_task_completed(self, execution: Execution, answer: ExternalTaskCompleted, now: int) -> list[Outgoing]:
        """Another service finished a stage's task: record what it said and complete the task."""
        stage = execution.stage(answer.stage_id)
        task = stage.task(answer.task_id) if stage else None
        if stage is None or task is None or task.status not in RESUMABLE or task.attempt != answer.attempt:
            return []
        task.token = None
        task.wakes_at = None
        stage.context.update(answer.context)
        stage.outputs.update(answer.outputs)
        status = S(answer.status)
        if status is not S.SUCCEEDED and answer.error:
            stage.context["exception"] = exception(answer.error, now)
        if status is S.TERMINAL:
            status = stage.failure_status()
        if task.status is S.PAUSED:
            task.status = S.RUNNING
        return [_complete_task(execution, stage, task, status)]

    # --- shared moves -------------------------------------------------------------------------

    def _apply_result(
        self, execution: Execution, stage: Stage, task: Task, result: TaskResult, now: int, timeout: int | None
    ) -> list[Outgoing]:
        stage.context.update(result.context)
        stage.outputs.update(result.outputs)
        if result.attempt is not None:
            task.attempt = result.attempt
        sent = [Outgoing(outbound.command, to=outbound.to) for outbound in result.send]
        if result.status is S.RUNNING:
            task.token = new_id()
            due = now + result.backoff_ms if result.backoff_ms is not None else None
            if timeout is not None:
                deadline = (stage.start_time or now) + timeout
                due = deadline if due is None else min(due, deadline)
            task.wakes_at = due
            if due is None:
                return sent  # woken by a judgment, an answer or an update
            return [*sent, _run_task(execution, stage, task, due)]
        if result.error:
            stage.context["exception"] = exception(result.error, now)
        status = stage.failure_status() if result.status is S.TERMINAL else result.status
        return [*sent, _complete_task(execution, stage, task, status)]

    def _tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        """The stage type's tasks, led by the execution window's when the stage is restricted."""
        return execution_window.with_window(self.stage_types.get(stage.type).tasks(stage), stage, self.window_zone)

    def _enabled(self, execution: Execution, stage: Stage) -> bool:
        condition = stage.context.get("stageEnabled")
        if not isinstance(condition, dict) or condition.get("type") != "expression":
            return True
        return self.expressions.condition(condition.get("expression"), execution, stage)

    def _start_next(self, execution: Execution, stage: Stage) -> list[Outgoing]:
        ready = [
            following for following in graph.downstream(execution, stage) if graph.ready_to_start(execution, following)
        ]
        if not ready:
            return [complete_execution_message(execution)]
        return [Outgoing(StartStage(execution_id=execution.id, stage_id=following.id)) for following in ready]

    def _rerun(self, execution: Execution, stage: Stage, now: int) -> list[Outgoing]:
        task = next((task for task in stage.tasks if task.status is S.RUNNING), None)
        if task is None:
            return []  # paused: resuming runs it
        return [start_task(execution, stage, task, task.start_time or now)]

    def _finish(self, execution: Execution, status: S, now: int) -> list[Outgoing]:
        execution.status = status
        execution.end_time = now
        messages: list[Outgoing] = []
        if status is not S.SUCCEEDED:
            for stage in execution.stages:
                if stage.status in RESUMABLE:
                    stage.status = S.CANCELED
                    stage.end_time = now
                    for task in stage.tasks:
                        if task.status in RESUMABLE:
                            task.status = S.CANCELED
                            task.end_time = now
                            task.token = None
                            task.wakes_at = None
                    messages.append(_stage_completed(execution, stage))
        if execution.limit_concurrent and execution.pipeline_config_id:  # the next waiting one may start
            purge = not execution.keep_waiting_pipelines
            waiting = StartWaitingExecutions(pipeline_config_id=execution.pipeline_config_id, purge_queue=purge)
            messages.append(Outgoing(waiting))
        return [*messages, Outgoing(_execution_event(ExecutionCompleted, execution))]


def final_status(execution: Execution) -> S | None:
    """The execution's final status from its top-level stages, or ``None`` while it cannot be
    decided yet (Orca's ``CompleteExecutionHandler.determineFinalStatus``)."""
    statuses = [stage.status for stage in execution.top_level_stages]
    if all(status in (S.SUCCEEDED, S.SKIPPED, S.FAILED_CONTINUE) for status in statuses):
        return S.SUCCEEDED
    if S.TERMINAL in statuses:
        return S.TERMINAL
    if S.CANCELED in statuses:
        return S.CANCELED
    if S.STOPPED in statuses and not graph.other_branches_incomplete(execution):
        fail = any(
            stage.status is S.STOPPED and stage.context.get("completeOtherBranchesThenFail") is True
            for stage in execution.stages
        )
        return S.TERMINAL if fail else S.SUCCEEDED
    return None


def _stage_status(stage: Stage) -> S:
    """A stage's status from its tasks (Orca's ``CompleteStageHandler.determineStatus``)."""
    if stage.context.get("beforeStagePlanningFailed"):
        return stage.failure_status()
    statuses = [task.status for task in stage.tasks]
    if S.TERMINAL in statuses:
        return stage.failure_status()
    for status in (S.STOPPED, S.CANCELED, S.FAILED_CONTINUE):
        if status in statuses:
            return status
    if all(status in (S.SUCCEEDED, S.SKIPPED) for status in statuses):
        return S.SUCCEEDED
    return S.TERMINAL


def _timeout_ms(stage: Stage) -> int | None:
    value: Any = stage.context.get("stageTimeoutMs")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return int(value)


def start_task(execution: Execution, stage: Stage, task: Task, now: int) -> Outgoing:
    """``task`` RUNNING with a fresh token, and the ``RunTask`` that runs it now."""
    task.status = S.RUNNING
    task.start_time = task.start_time or now
    task.token = new_id()
    task.wakes_at = now
    return _run_task(execution, stage, task, None)


def _run_task(execution: Execution, stage: Stage, task: Task, due_at: int | None) -> Outgoing:
    assert task.token is not None
    message = RunTask(execution_id=execution.id, stage_id=stage.id, task_id=task.id, token=task.token)
    return Outgoing(message, due_at=due_at)


def _complete_task(execution: Execution, stage: Stage, task: Task, status: S) -> Outgoing:
    return Outgoing(CompleteTask(execution_id=execution.id, stage_id=stage.id, task_id=task.id, status=status.value))


def complete_stage_message(execution: Execution, stage: Stage) -> Outgoing:
    return Outgoing(CompleteStage(execution_id=execution.id, stage_id=stage.id))


def complete_execution_message(execution: Execution) -> Outgoing:
    return Outgoing(CompleteExecution(execution_id=execution.id))


def _started(execution: Execution) -> Outgoing:
    return Outgoing(_execution_event(ExecutionStarted, execution))


def _execution_event[E: (ExecutionStarted, ExecutionCompleted)](kind: type[E], execution: Execution) -> E:
    return kind(
        execution_id=execution.id,
        application=execution.application,
        name=execution.name,
        pipeline_config_id=execution.pipeline_config_id,
        status=execution.status.value,
    )


def _stage_started(execution: Execution, stage: Stage) -> Outgoing:
    return Outgoing(_stage_event(StageStarted, execution, stage))


def _stage_completed(execution: Execution, stage: Stage) -> Outgoing:
    return Outgoing(_stage_event(StageCompleted, execution, stage))


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
