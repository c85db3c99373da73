"""Orca's pipeline execution messages: the commands that start and steer an execution, the internal
chain its engine runs on, the events it publishes and the queries that read executions.

An execution is a chain of commands Orca sends to itself, as Spinnaker's Orca does on its Keiko
queue::

    StartExecution → StartStage → RunTask ⟲ (durable timer) → CompleteTask → CompleteStage
                   → StartStage (downstream, when all its requisites are complete) … → CompleteExecution

Operators steer it with ``CancelExecution``, ``PauseExecution`` / ``ResumeExecution``,
``SkipStage``, ``RestartStage``, ``JudgeStage`` and ``UpdateStage``. Every command is idempotent:
delivered twice it changes nothing twice.

**Stage types owned by other services.** A stage whose type another service provides runs as one
task that sends ``orca.RunExternalTask`` to that service (``to=<service>``), carrying
``task_id`` and ``attempt``. The service answers with an event of a subclass of
:class:`ExternalTaskCompleted` whose type it owns, named ``<service>.task.completed``
(e.g. ``rosco.task.completed``), echoing ``execution_id``, ``stage_id``, ``task_id`` and
``attempt``. Orca binds ``*.task.completed`` and ignores answers to an attempt it no longer waits
for. A service that needs longer than the stage's ``stageTimeoutMs`` should say so with the
stage's context, never by holding the command.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from schemas.authority import ACTS_FOR, Authority, upcast_user_to_authority
from schemas.base import Command, Event, Query, Reply
from schemas.idempotency import ClientKey
from schemas.json_types import Json
from schemas.limits import NAME_MAX_LENGTH
from schemas.registry import message, registry

TaskOutcome = Literal["SUCCEEDED", "TERMINAL", "FAILED_CONTINUE", "STOPPED", "CANCELED", "SKIPPED"]
"""The statuses a task may finish with (Spinnaker's ``ExecutionStatus`` values)."""

# --- commands an operator or another service sends -----------------------------------------------


@message
class StartExecution(Command):
    """Run ``pipeline`` (Spinnaker's pipeline JSON) as execution ``execution_id`` (a ULID; idempotency key).

    With ``client_key`` (a client's ``Idempotency-Key``), a second command carrying the same key from
    the same caller within 24 h starts nothing: it is answered with ``orca.command.repeated`` naming
    the first one's execution, or, for another request under that key, ``orca.command.rejected`` 422.
    """

    message_type: ClassVar[str] = "orca.StartExecution"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    pipeline: Json
    trigger: Json = Field(default_factory=lambda: {"type": "manual"})
    authority: Authority = Field(description=ACTS_FOR)
    client_key: ClientKey | None = None


@message
class CancelExecution(Command):
    """Cancel an execution that has not finished: it and its running stages become CANCELED."""

    message_type: ClassVar[str] = "orca.CancelExecution"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)
    reason: str | None = None


@message
class PauseExecution(Command):
    """Pause a RUNNING execution: running tasks stop at their next run until resumed."""

    message_type: ClassVar[str] = "orca.PauseExecution"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)


@message
class ResumeExecution(Command):
    """Resume a PAUSED execution: paused stages and tasks run again."""

    message_type: ClassVar[str] = "orca.ResumeExecution"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)


@message
class SkipStage(Command):
    """Skip a stage that has not finished: it becomes SKIPPED and the pipeline goes on downstream."""

    message_type: ClassVar[str] = "orca.SkipStage"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)


@message
class RestartStage(Command):
    """Run a finished stage again, with every stage downstream of it, and reopen the execution."""

    message_type: ClassVar[str] = "orca.RestartStage"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)


@message
class JudgeStage(Command):
    """Answer a ``manualJudgment`` stage: ``continue`` lets the pipeline go on, ``stop`` fails the stage."""

    message_type: ClassVar[str] = "orca.JudgeStage"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    judgment_status: Literal["continue", "stop"]
    input: str | None = None
    authority: Authority = Field(description=ACTS_FOR)


@message
class UpdateStage(Command):
    """Merge ``context`` into a running stage's context and run its task again now.

    Gate's ``PATCH /pipelines/{id}/stages/{stageId}``: e.g. ``{"skipRemainingWait": true}``.
    """

    message_type: ClassVar[str] = "orca.UpdateStage"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    context: Json
    authority: Authority = Field(description=ACTS_FOR)


# --- the internal chain (Orca sends these to itself) ----------------------------------------------


@message
class StartStage(Command):
    """Start a NOT_STARTED stage whose requisite stages are all complete."""

    message_type: ClassVar[str] = "orca.StartStage"
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)


@message
class RunTask(Command):
    """Run a RUNNING task once; ``token`` must be the task's current one, so a stale or repeated
    run (a timer fired twice, a redelivery) does nothing."""

    message_type: ClassVar[str] = "orca.RunTask"
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    token: str = Field(min_length=1)


@message
class CompleteTask(Command):
    """A task finished with ``status``: start the stage's next task or complete the stage."""

    message_type: ClassVar[str] = "orca.CompleteTask"
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    status: TaskOutcome


@message
class CompleteStage(Command):
    """Every task of a stage finished: decide its status, then start what follows or end the branch."""

    message_type: ClassVar[str] = "orca.CompleteStage"
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)


@message
class CompleteExecution(Command):
    """A branch ended: finish the execution if its final status can be decided now."""

    message_type: ClassVar[str] = "orca.CompleteExecution"
    execution_id: str = Field(min_length=1)


@message
class ContinueRollback(Command):
    """A step of a pipeline's rollback (saga compensation) ended: start the next, or finish the
    execution when none is left."""

    message_type: ClassVar[str] = "orca.ContinueRollback"
    execution_id: str = Field(min_length=1)


# --- stage types provided by other services -------------------------------------------------------


@message
class StartWaitingExecutions(Command):
    """Start the next BUFFERED execution of ``pipeline_config_id`` if none of it runs (Orca's
    ``StartWaitingExecutions``); ``purge_queue`` (``keepWaitingPipelines: false``) runs the newest
    waiting one and cancels the older ones, else the oldest runs first."""

    message_type: ClassVar[str] = "orca.StartWaitingExecutions"
    pipeline_config_id: str = Field(min_length=1)
    purge_queue: bool = False


@message
class RunExternalTask(Command):
    """Sent to the service that provides ``stage_type``: run the stage's work and answer with a
    ``<service>.task.completed`` event (a subclass of :class:`ExternalTaskCompleted`).

    ``context`` is the stage's context, ``trigger`` the execution's trigger. ``task_id`` numbers the
    task within its stage ("1", "2"… as in Spinnaker), so one attempt is identified by
    ``(execution_id, stage_id, task_id, attempt)``; the same one may arrive twice (at-least-once):
    do the work once per identity.
    """

    message_type: ClassVar[str] = "orca.RunExternalTask"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    attempt: int = Field(ge=1)
    application: str
    stage_type: str = Field(min_length=1)
    context: Json = Field(default_factory=dict)
    trigger: Json = Field(default_factory=dict)
    authority: Authority = Field(description=ACTS_FOR)


class ExternalTaskCompleted(Event):
    """The answer to :class:`RunExternalTask`. Not registered itself: each providing service
    registers a subclass with ``message_type = "<service>.task.completed"``.

    ``outputs`` become the stage's outputs, ``context`` is merged into its context, ``error``
    (when the status is not SUCCEEDED) is recorded as the stage's exception.
    """

    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    attempt: int = Field(ge=1)
    application: str | None = Field(
        None,
        description="the application of the pipeline the task runs in (RunExternalTask's), so the event "
        "stream shows the event only to those who may READ it",
    )
    status: TaskOutcome
    outputs: Json = Field(default_factory=dict)
    context: Json = Field(default_factory=dict)
    error: str | None = None
    retryable: bool = Field(
        False,
        description="a TERMINAL answer that may succeed if tried again: Orca sends the next attempt "
        "after a backoff while the stage's taskRetries allow",
    )


class ExternalTaskHeartbeat(Event):
    """A service still works on :class:`RunExternalTask` ``attempt`` (long work: a deploy waiting for
    health checks, a bake). Not registered itself: each providing service registers a subclass named
    ``<service>.task.heartbeat``.

    Orca records ``progress`` (a line a person reads, shown as the stage's ``progress`` context) and
    the time; a stage whose ``taskHeartbeatTimeoutMs`` passes without one counts the attempt as lost
    and retries it (``taskRetries``) or fails. ``context`` is merged into the stage's context.
    """

    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    attempt: int = Field(ge=1)
    application: str | None = Field(
        None,
        description="the application of the pipeline the task runs in (RunExternalTask's), so the event "
        "stream shows the event only to those who may READ it",
    )
    progress: str | None = None
    context: Json = Field(default_factory=dict)


# --- events ----------------------------------------------------------------------------------------


@message
class ExecutionStarted(Event):
    """An execution began running its stages."""

    message_type: ClassVar[str] = "orca.execution.started"
    execution_id: str
    application: str
    name: str
    pipeline_config_id: str | None = None
    status: str


@message
class ExecutionBuffered(Event):
    """An execution was stored BUFFERED: its pipeline has ``limitConcurrent`` and another execution of
    it runs, so it waits its turn (``orca.execution.started`` follows when it starts, or
    ``orca.execution.completed`` CANCELED when a newer one replaces it under ``keepWaitingPipelines:
    false``). It answers the ``StartExecution`` that made it, as ``orca.execution.started`` does."""

    message_type: ClassVar[str] = "orca.execution.buffered"
    execution_id: str
    application: str
    name: str
    pipeline_config_id: str | None = None


@message
class ExecutionCompleted(Event):
    """An execution finished; ``status`` is its final ``ExecutionStatus``."""

    message_type: ClassVar[str] = "orca.execution.completed"
    execution_id: str
    application: str
    name: str
    pipeline_config_id: str | None = None
    status: str


@message
class ExecutionPaused(Event):
    """A RUNNING execution was paused (``orca.PauseExecution``): its running tasks wait for a resume."""

    message_type: ClassVar[str] = "orca.execution.paused"
    execution_id: str
    application: str
    name: str
    pipeline_config_id: str | None = None
    paused_by: str


@message
class ExecutionResumed(Event):
    """A PAUSED execution was resumed (``orca.ResumeExecution``); ``paused_ms`` is how long it has been
    paused in all, this pause included."""

    message_type: ClassVar[str] = "orca.execution.resumed"
    execution_id: str
    application: str
    name: str
    pipeline_config_id: str | None = None
    resumed_by: str
    paused_ms: int


@message
class StageStarted(Event):
    """A stage began running (or was skipped at start: then ``stage.completed`` follows)."""

    message_type: ClassVar[str] = "orca.stage.started"
    execution_id: str
    application: str
    stage_id: str
    ref_id: str
    stage_type: str
    name: str
    status: str


@message
class StageCompleted(Event):
    """A stage finished with ``status``."""

    message_type: ClassVar[str] = "orca.stage.completed"
    execution_id: str
    application: str
    stage_id: str
    ref_id: str
    stage_type: str
    name: str
    status: str


@message
class StageJudged(Event):
    """Someone answered a ``manualJudgment`` stage (``orca.JudgeStage``); the answer stands.

    The first event a judgment causes, so whoever sent it (the gateway) knows it was taken; a
    judgment Orca refused is answered with ``orca.command.rejected`` instead.
    """

    message_type: ClassVar[str] = "orca.stage.judged"
    execution_id: str
    application: str
    stage_id: str
    ref_id: str
    name: str
    judgment_status: str
    judged_by: str


# --- queries ---------------------------------------------------------------------------------------


@message
class ExecutionFound(Reply):
    """One execution in Spinnaker's JSON, or ``None``."""

    message_type: ClassVar[str] = "orca.ExecutionFound"
    execution: Json | None


@message
class GetExecution(Query):
    """One pipeline execution by id."""

    message_type: ClassVar[str] = "orca.GetExecution"
    reply_model: ClassVar[type[Reply]] = ExecutionFound
    id: str = Field(min_length=1)


@message
class ExecutionList(Reply):
    """Pipeline executions, newest first."""

    message_type: ClassVar[str] = "orca.ExecutionList"
    executions: list[Json]


@message
class ListExecutions(Query):
    """Executions of ``application`` and/or of the pipeline configs ``pipeline_config_ids``, newest
    first, optionally only those in ``statuses`` and only those whose ``trigger.eventId`` is
    ``trigger_event_id`` (the store filters, so finding a webhook's execution does not read every
    execution of the application). At least one of the first two filters is required."""

    message_type: ClassVar[str] = "orca.ListExecutions"
    reply_model: ClassVar[type[Reply]] = ExecutionList
    application: str | None = None
    limit: int = Field(10, ge=1, le=1000)
    statuses: list[str] = Field(default_factory=list)
    pipeline_config_ids: list[str] = Field(default_factory=list)
    trigger_event_id: str | None = Field(None, max_length=NAME_MAX_LENGTH)


@message
class DeleteExecution(Command):
    """Delete a finished execution (Gate's ``DELETE /pipelines/{id}``); a running one is refused.

    Answered with ``orca.execution.deleted``, or ``orca.command.rejected`` (status 400 for an
    execution still running, 404 for an unknown one).
    """

    message_type: ClassVar[str] = "orca.DeleteExecution"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)


@message
class ExecutionDeleted(Event):
    """A finished execution was deleted."""

    message_type: ClassVar[str] = "orca.execution.deleted"
    execution_id: str
    application: str


@message
class ExpressionEvaluated(Reply):
    """The value of an expression evaluated against an execution, as Orca's
    ``evaluateExpression`` answers: ``result`` (the expression as given when it failed) and
    ``detail`` (the evaluation summary, naming what failed and why)."""

    message_type: ClassVar[str] = "orca.ExpressionEvaluated"
    found: bool = True
    result: Any = None
    detail: Json = Field(default_factory=dict)


@message
class EvaluateExpression(Query):
    """Evaluate ``expression`` (``${…}``) against execution ``execution_id``: its trigger,
    parameters, stages and outputs, as a stage of it would see them."""

    message_type: ClassVar[str] = "orca.EvaluateExpression"
    reply_model: ClassVar[type[Reply]] = ExpressionEvaluated
    execution_id: str = Field(min_length=1)
    expression: str


@message
class ExecutionCommandRejected(Event):
    """An execution command was refused and changed nothing (e.g. deleting a running execution).

    ``status`` follows HTTP: 400 for a command the execution's state does not allow, 403 for one
    whose authority may not do it (EXECUTE on the application, WRITE to delete), 404 for an unknown
    execution, 422 for a client's ``Idempotency-Key`` reused with another request.
    ``execution_id`` names the execution (for ``orca.SubmitTask``, the task) the command was about.
    """

    message_type: ClassVar[str] = "orca.command.rejected"
    command_type: str
    execution_id: str
    status: Literal[400, 403, 404, 409, 422]
    reason: str
    field: str | None = None


@message
class ExecutionCommandRepeated(Event):
    """A command carrying a client's ``Idempotency-Key`` an earlier command with the same key (and the
    same request) carried out already: nothing was done again. ``execution_id`` names what the first
    one made (an execution, or for ``orca.SubmitTask`` a task); ``status`` is its status now."""

    message_type: ClassVar[str] = "orca.command.repeated"
    command_type: str
    execution_id: str
    status: str


@message
class TriggerPipeline(Command):
    """Run the pipeline config ``pipeline_name_or_id`` of ``application`` for a trigger another
    service saw (Echo's webhook, cron and git triggers).

    ``trigger`` is Spinnaker's trigger JSON (``type``, ``user``, ``parameters``, ``payload``…);
    parameters it leaves out take their ``parameterConfig`` defaults. The execution's id is derived
    from ``idempotency_key``, so the same key starts one execution however often it is sent.
    Answered with ``orca.execution.started``, or ``orca.command.rejected`` naming the reason
    (404 for an unknown pipeline, 400 for a disabled one).
    """

    message_type: ClassVar[str] = "orca.TriggerPipeline"
    message_version: ClassVar[int] = 2
    application: str = Field(min_length=1)
    pipeline_name_or_id: str = Field(min_length=1)
    trigger: Json = Field(default_factory=lambda: {"type": "manual"})
    idempotency_key: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)


for _model in (
    StartExecution,
    CancelExecution,
    PauseExecution,
    ResumeExecution,
    SkipStage,
    RestartStage,
    JudgeStage,
    UpdateStage,
    RunExternalTask,
    DeleteExecution,
    TriggerPipeline,
):
    registry.upcaster(_model.message_type, 1)(upcast_user_to_authority)
