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

The messages are built in :mod:`workers.orca.engine.outgoing`; the pure status, retry and
rollback rules the transitions apply are :mod:`workers.orca.engine.rules`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bus import new_id
from schemas.json_types import Json
from schemas.orca import TaskUpdated
from schemas.orca_engine import (
    CompleteTask,
    ContinueRollback,
    ExecutionCompleted,
    ExternalTaskCompleted,
    ExternalTaskHeartbeat,
    RunTask,
    StartStage,
    StartWaitingExecutions,
)
from workers.orca.engine import execution_window, graph, synthetic
from workers.orca.engine.expression_language import SUMMARY_KEY, ExpressionFailed, Expressions
from workers.orca.engine.model import Execution, PausedDetails, Stage, Task
from workers.orca.engine.outgoing import (
    Outgoing,
    complete_execution_message,
    complete_stage_message,
    complete_task_message,
    execution_event,
    execution_paused,
    execution_resumed,
    execution_started,
    run_task_message,
    stage_completed,
    stage_judged,
    stage_started,
    start_stages,
    start_task,
)
from workers.orca.engine.rules import (
    cleans_up_on_failure,
    external_retry_ms,
    final_status,
    group_status,
    pipeline_rolls_back,
    rollback_settings,
    rolls_back,
    stage_status,
    timeout_ms,
)
from workers.orca.engine.stages import StageTypes, TaskDefinition, TaskResult, TaskRun, UnknownStageType
from workers.orca.engine.status import ExecutionStatus as S
from workers.orca.engine.task_view import ORCHESTRATION, task_view

RESUMABLE = (S.RUNNING, S.PAUSED)


def exception(error: str, at: int, exception_type: str = "StageFailed") -> Json:
    """The ``exception`` entry of a stage's context, in Orca's shape (Deck shows ``details.errors``)."""
    return {
        "details": {"error": error, "errors": [error]},
        "exceptionType": exception_type,
        "shouldRetry": False,
        "timestamp": at,
    }


RESTART_FORGETS = (
    "exception",
    "beforeStagePlanningFailed",
    "judgmentStatus",
    "judgmentInput",
    "judgedBy",
    "skipRemainingWait",
    "lastAttemptError",
)
"""The context keys a restarted stage (and every stage after it) loses: left from the run before."""


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
        if execution.exception is not None:  # refused as it was planned (an unbound expected artifact)
            return [execution_started(execution), *self._finish(execution, S.TERMINAL, now)]
        problems = graph.problems(execution.stages)
        if not graph.initial_stages(execution) and not problems:
            problems = ["the pipeline has no stage without requisiteStageRefIds to start with"]
        if problems:
            execution.exception = exception("; ".join(problems), now, "InvalidPipeline")
            return [execution_started(execution), *self._finish(execution, S.TERMINAL, now)]
        starts: list[Outgoing] = [
            Outgoing(StartStage(execution_id=execution.id, stage_id=stage.id))
            for stage in graph.initial_stages(execution)
        ]
        return [execution_started(execution), *starts]

    def start_stage(self, execution: Execution, stage_id: str, now: int) -> list[Outgoing]:
        stage = execution.stage(stage_id)
        if stage is None or stage.status is not S.NOT_STARTED or execution.status.complete:
            return []
        if not graph.ready_to_start(execution, stage):
            return [self._branch_ended(execution, stage)]  # a requisite halted; or the last requisite will start it
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
                befores = synthetic.declared(self.stage_types.get(stage.type), stage, "before", execution)
        except (ExpressionFailed, UnknownStageType, ValueError) as error:
            stage.status = S.RUNNING
            stage.context["exception"] = exception(str(error), now)
            stage.context["beforeStagePlanningFailed"] = True
            return [stage_started(execution, stage), complete_stage_message(execution, stage)]
        if not enabled:
            stage.status = S.SKIPPED
            stage.end_time = now
            return [stage_completed(execution, stage), *self._start_next(execution, stage, now)]
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
        planned = synthetic.plan(execution, stage, "before", befores)
        if planned:
            return [stage_started(execution, stage), *start_stages(execution, synthetic.initial(planned))]
        if not stage.tasks:
            return [stage_started(execution, stage), complete_stage_message(execution, stage)]
        return [stage_started(execution, stage), start_task(execution, stage, stage.tasks[0], now)]

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
        timeout = timeout_ms(stage)
        if timeout is not None and now - (stage.start_time or now) >= timeout:
            error = f"stage {stage.name!r} timed out after {timeout} ms (stageTimeoutMs)"
            stage.context["exception"] = exception(error, now, "TimeoutException")
            return [complete_task_message(execution, stage, task, stage.failure_status())]
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
        """Move a stage on: its synthetic stages and tasks in turn (before stages, its tasks, after
        stages; on a failure with ``rollback.onFailure`` or of a type that always cleans up, its failure
        stages), then its status."""
        stage = execution.stage(stage_id)
        if stage is None or stage.status not in RESUMABLE or execution.status.complete:
            return []
        children = [child for child in execution.children(stage) if child.synthetic_role != "compensation"]
        if any(child.status in (S.RUNNING, S.PAUSED, S.SUSPENDED) for child in children):
            return []  # the last of them to finish completes this stage again
        if any(task.status is S.RUNNING for task in stage.tasks):
            return []  # a repeated CompleteStage (one per before stage): the running task's end completes it
        ready = [child for child in children if graph.ready_to_start(execution, child)]
        if ready:
            return start_stages(execution, ready)
        befores_done = all(child.status.lets_downstream_run for child in execution.children(stage, "before"))
        if befores_done and stage.tasks and all(task.status is S.NOT_STARTED for task in stage.tasks):
            return [start_task(execution, stage, stage.tasks[0], now)]
        status = stage_status(execution, stage)
        definition = self.stage_types.find(stage.type)
        if status.lets_downstream_run and not execution.children(stage, "after"):
            try:
                afters = synthetic.declared(definition, stage, "after", execution)
            except ValueError as error:
                stage.context["exception"] = exception(f"cannot plan the steps after {stage.name!r}: {error}", now)
                afters, status = [], stage.failure_status()
            planned = synthetic.plan(execution, stage, "after", afters)
            if planned:
                return start_stages(execution, synthetic.initial(planned))
        failed = status in (S.TERMINAL, S.STOPPED)
        cleans_up = rolls_back(stage) or cleans_up_on_failure(definition, stage)
        if failed and cleans_up and not execution.children(stage, "failure"):
            planned = synthetic.plan(
                execution, stage, "failure", synthetic.declared(definition, stage, "failure", execution)
            )
            if planned:
                if rolls_back(stage):
                    stage.context["rollback"] = {**rollback_settings(stage), "status": "RUNNING", "startTime": now}
                return start_stages(execution, synthetic.initial(planned))
        if execution.children(stage, "failure") and isinstance(stage.context.get("rollback"), dict):
            stage.context["rollback"]["status"] = group_status(execution.children(stage, "failure"))
        stage.status = status
        stage.end_time = now
        completed = stage_completed(execution, stage)
        if stage.status.lets_downstream_run:
            return [completed, *self._start_next(execution, stage, now)]
        return [completed, self._branch_ended(execution, stage)]

    def complete_execution(self, execution: Execution, now: int) -> list[Outgoing]:
        if execution.status.complete:
            return []
        if execution.rollback is not None and execution.rollback.get("status") == "RUNNING":
            return []  # the compensations' last step completes the execution
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
        return [execution_paused(execution, user)]

    def resume_execution(self, execution: Execution, user: str, now: int) -> list[Outgoing]:
        if execution.status is not S.PAUSED:
            return []
        execution.status = S.RUNNING
        if execution.paused is not None:
            execution.paused.resumed_by = user
            execution.paused.resume_time = now
            execution.paused.paused_ms += now - (execution.paused.pause_time or now)
        runs: list[Outgoing] = [execution_resumed(execution, user)]
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
        skipped: list[Outgoing] = []
        for each in (stage, *synthetic.descendants(execution, stage)):
            if each.status not in (*RESUMABLE, S.NOT_STARTED):
                continue
            started = each.status is not S.NOT_STARTED
            each.status = S.SKIPPED
            each.end_time = now
            for task in each.tasks:
                if not task.status.complete:
                    task.status = S.SKIPPED
                    task.end_time = now if task.start_time is not None else None
                    task.token = None
                    task.wakes_at = None
            if started and each is not stage:
                skipped.append(stage_completed(execution, each))
        return [*skipped, stage_completed(execution, stage), *self._start_next(execution, stage, now)]

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
        updated = self.update_stage(execution, stage_id, {**judgment, "judgedBy": user}, user, now)
        if not stage.context.get("judgmentStatus"):
            return updated  # a finished stage or execution takes no judgment
        return [stage_judged(execution, stage, user), *updated]

    def restart_stage(self, execution: Execution, stage_id: str, user: str, now: int) -> list[Outgoing]:
        """Reset a finished stage and everything downstream of it, reopen the execution, start it."""
        stage = execution.stage(stage_id)
        if stage is None or not stage.status.complete or stage.parent_stage_id is not None:
            return []  # a synthetic stage restarts with the stage that owns it
        if not all(requisite.status.lets_downstream_run for requisite in graph.upstream(execution, stage)):
            return []
        if execution.rollback is not None:  # the compensations ran for the failure being retried
            execution.rollback = {key: value for key, value in execution.rollback.items() if key == "onFailure"}
            for step in [other for other in execution.stages if other.synthetic_role == "compensation"]:
                synthetic.remove_descendants(execution, step)
            execution.stages = [other for other in execution.stages if other.synthetic_role != "compensation"]
        stage.context["restartDetails"] = {"restartedBy": user, "restartTime": now}
        for reset in (stage, *graph.all_downstream(execution, stage)):
            prepare = getattr(self.stage_types.find(reset.type), "prepare_for_restart", None)
            if callable(prepare):  # Orca's prepareStageForRestart: the type forgets its last run
                prepare(reset)
            synthetic.remove_descendants(execution, reset)
            reset.status = S.NOT_STARTED
            reset.start_time = reset.end_time = None
            reset.tasks = []
            reset.outputs = {}
            # what the last run was told or found: a restarted judgment asks again, a skipped wait waits again
            for key in RESTART_FORGETS:
                reset.context.pop(key, None)
            if isinstance(reset.context.get("rollback"), dict):
                reset.context["rollback"] = rollback_settings(reset)
        reopened = execution.status.complete
        if reopened:
            execution.status = S.RUNNING
            execution.end_time = None
            execution.canceled = False
        started = [execution_started(execution)] if reopened else []
        return [*started, Outgoing(StartStage(execution_id=execution.id, stage_id=stage.id))]

    def external_task_completed(self, execution: Execution, answer: ExternalTaskCompleted, now: int) -> list[Outgoing]:
        """Another service finished a stage's task: record what it said and complete the task."""
        stage = execution.stage(answer.stage_id)
        task = stage.task(answer.task_id) if stage else None
        if stage is None or task is None or task.status not in RESUMABLE or task.attempt != answer.attempt:
            return []
        stage.context.update(answer.context)
        stage.outputs.update(answer.outputs)
        status = S(answer.status)
        if task.retry_due is not None:
            return []  # this attempt already failed and the next one is scheduled
        retry = external_retry_ms(stage, task) if status is S.TERMINAL and answer.retryable else None
        if retry is not None and task.status is S.RUNNING:
            stage.context["lastAttemptError"] = answer.error
            task.retry_due = now + retry
            task.token = new_id()
            task.wakes_at = task.retry_due
            return [run_task_message(execution, stage, task, task.retry_due)]
        task.token = None
        task.wakes_at = None
        if status is not S.SUCCEEDED and answer.error:
            stage.context["exception"] = exception(answer.error, now)
        if status is S.TERMINAL:
            status = stage.failure_status()
        if task.status is S.PAUSED:
            task.status = S.RUNNING
        return [complete_task_message(execution, stage, task, status)]

    def external_task_heartbeat(self, execution: Execution, beat: ExternalTaskHeartbeat, now: int) -> list[Outgoing]:
        """Another service still works on a task's attempt: note when, and what it says."""
        stage = execution.stage(beat.stage_id)
        task = stage.task(beat.task_id) if stage else None
        if stage is None or task is None or task.status not in RESUMABLE or task.attempt != beat.attempt:
            return []
        task.heartbeat_at = now
        stage.context.update(beat.context)
        if beat.progress is not None:
            stage.context["progress"] = beat.progress
        return []

    # --- shared moves -------------------------------------------------------------------------

    def _apply_result(
        self, execution: Execution, stage: Stage, task: Task, result: TaskResult, now: int, timeout: int | None
    ) -> list[Outgoing]:
        stage.context.update(result.context)
        stage.outputs.update(result.outputs)
        if result.attempt is not None and result.attempt != task.attempt:
            task.attempt = result.attempt
            task.heartbeat_at = now
            task.retry_due = None
        sent = [Outgoing(out.command, to=out.to, envelope_id=out.envelope_id) for out in result.send]
        if result.status is S.RUNNING:
            task.token = new_id()
            due = now + result.backoff_ms if result.backoff_ms is not None else None
            if timeout is not None:
                deadline = (stage.start_time or now) + timeout
                due = deadline if due is None else min(due, deadline)
            task.wakes_at = due
            if due is None:
                return sent  # woken by a judgment, an answer or an update
            return [*sent, run_task_message(execution, stage, task, due)]
        if result.error:
            stage.context["exception"] = exception(result.error, now)
        status = stage.failure_status() if result.status is S.TERMINAL else result.status
        return [*sent, complete_task_message(execution, stage, task, status)]

    def _tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        """The stage type's tasks, led by the execution window's when the stage is restricted."""
        return execution_window.with_window(self.stage_types.get(stage.type).tasks(stage), stage, self.window_zone)

    def _enabled(self, execution: Execution, stage: Stage) -> bool:
        condition = stage.context.get("stageEnabled")
        if not isinstance(condition, dict) or condition.get("type") != "expression":
            return True
        return self.expressions.condition(condition.get("expression"), execution, stage)

    def _start_next(self, execution: Execution, stage: Stage, now: int) -> list[Outgoing]:
        ready = [
            following for following in graph.downstream(execution, stage) if graph.ready_to_start(execution, following)
        ]
        if not ready:
            return [self._branch_ended(execution, stage)]
        return start_stages(execution, ready)

    def _branch_ended(self, execution: Execution, stage: Stage) -> Outgoing:
        """What follows when nothing after ``stage`` can start: its parent moves on (a synthetic
        stage), the rollback goes on (a compensation), or the execution may be complete."""
        if stage.synthetic_role == "compensation":
            return Outgoing(ContinueRollback(execution_id=execution.id))
        parent = execution.parent(stage)
        if parent is not None:
            return complete_stage_message(execution, parent)
        return complete_execution_message(execution)

    def continue_rollback(self, execution: Execution, now: int) -> list[Outgoing]:
        """Start the next step of a running rollback (the compensations of completed stages, latest
        first), or end it and complete the execution."""
        rollback = execution.rollback
        if rollback is None or rollback.get("status") != "RUNNING" or execution.status.complete:
            return []
        for owner_id in rollback.get("order") or []:
            owner = execution.stage(owner_id)
            steps = execution.children(owner, "compensation") if owner else []
            if any(step.status in (S.RUNNING, S.PAUSED, S.SUSPENDED) for step in steps):
                return []
            ready = [step for step in steps if graph.ready_to_start(execution, step)]
            if ready:
                return start_stages(execution, ready)
        steps = [step for step in execution.stages if step.synthetic_role == "compensation"]
        rollback["status"] = group_status(steps)
        rollback["endTime"] = now
        return [complete_execution_message(execution)]

    def _start_rollback(self, execution: Execution, now: int) -> list[Outgoing]:
        """Plan the compensations of every completed stage that has one, latest first (the saga),
        and start the first; nothing when there is nothing to undo."""
        done = [stage for stage in execution.top_level_stages if stage.status is S.SUCCEEDED]
        done.sort(key=lambda stage: stage.end_time or 0, reverse=True)
        order: list[str] = []
        for stage in done:
            specs = synthetic.declared(self.stage_types.find(stage.type), stage, "compensation", execution)
            if synthetic.plan(execution, stage, "compensation", specs):
                order.append(stage.id)
        if not order:
            return []
        assert execution.rollback is not None
        execution.rollback.update({"status": "RUNNING", "startTime": now, "order": order})
        return self.continue_rollback(execution, now)

    def _rerun(self, execution: Execution, stage: Stage, now: int) -> list[Outgoing]:
        task = next((task for task in stage.tasks if task.status is S.RUNNING), None)
        if task is None:
            return []  # paused: resuming runs it
        return [start_task(execution, stage, task, task.start_time or now)]

    def _finish(self, execution: Execution, status: S, now: int) -> list[Outgoing]:
        if status is S.TERMINAL and pipeline_rolls_back(execution):
            canceled = self._cancel_running(execution, now)
            rollback = self._start_rollback(execution, now)
            if rollback:
                return [*canceled, *rollback]
            execution.rollback = {**(execution.rollback or {}), "status": "SKIPPED"}
            return [*canceled, *self._finish(execution, status, now)]
        execution.status = status
        execution.end_time = now
        messages: list[Outgoing] = []
        if status is not S.SUCCEEDED:
            messages.extend(self._cancel_running(execution, now))
        if execution.limit_concurrent and execution.pipeline_config_id:  # the next waiting one may start
            purge = not execution.keep_waiting_pipelines
            waiting = StartWaitingExecutions(pipeline_config_id=execution.pipeline_config_id, purge_queue=purge)
            messages.append(Outgoing(waiting))
        messages.append(Outgoing(execution_event(ExecutionCompleted, execution)))
        if execution.type == ORCHESTRATION:  # a task says so too, whoever finished it (its handlers say no more)
            messages.append(Outgoing(TaskUpdated(task=task_view(execution))))
        return messages

    def _cancel_running(self, execution: Execution, now: int) -> list[Outgoing]:
        """Every stage and task still running becomes CANCELED; their stage events."""
        messages: list[Outgoing] = []
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
                messages.append(stage_completed(execution, stage))
        return messages
