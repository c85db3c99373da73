"""``createApplication``, ``updateApplication`` and ``deleteApplication``: the stages, of an ad-hoc
task (an ORCHESTRATION) or of a pipeline, that change an application in Front50, as Orca's
``upsertApplication`` and ``deleteApplication`` tasks do.

The task sends ``front50.SaveApplication`` / ``DeleteApplication`` once, under an envelope id it
records first in the stage's context (``front50Call.commandId``), in the same write; Front50
answers with an event whose ``causationid`` is that id (``front50.application.saved|deleted``, or
``front50.command.rejected``). :func:`record_answer` stores the answer and runs the task again,
which succeeds, or fails with Front50's reason in Orca's ``exception`` shape. Front50 answers a
repeated command id with the same outcome, so a redelivered command changes nothing twice; an
answer to no awaited call (a redelivery, another command's) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from bus import new_id
from schemas.base import Command
from schemas.front50 import DeleteApplication, SaveApplication
from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.outgoing import Outgoing, start_task
from workers.orca.engine.stages.base import Outbound, TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.status import ExecutionStatus

CALL_KEY = "front50Call"
RESEND = "resend"
"""Set on a ``front50Call`` whose command may never have been sent (a task moved here from the former
task engine mid-step): the task sends it again under the same id, which Front50 answers once."""
SAVE_TYPES = ("createApplication", "updateApplication")
DELETE_TYPE = "deleteApplication"
JOB_TYPES = (*SAVE_TYPES, DELETE_TYPE)
"""The job types of ``POST /tasks`` Orca runs, each as a stage of that type (in a pipeline too)."""
AWAITING = (ExecutionStatus.RUNNING, ExecutionStatus.PAUSED)


class JobInvalid(ValueError):
    """A job cannot become a command; ``field`` names the offending part of the task."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def failure(error: str, at: int, exception_type: str, field: str | None = None) -> Json:
    """Orca's ``exception`` entry (Gate and ``spin`` read ``details.errors``), naming ``field`` if any."""
    details: Json = {"error": error, "errors": [error]}
    if field is not None:
        details["field"] = field
    return {"details": details, "exceptionType": exception_type, "shouldRetry": False, "timestamp": at}


def _position(execution: Execution, stage: Stage) -> int:
    return next((n for n, other in enumerate(execution.top_level_stages) if other.id == stage.id), 0)


def _application_name(stage: Stage, index: int) -> str:
    application = stage.context.get("application")
    name = application.get("name") if isinstance(application, dict) else application
    if not isinstance(name, str) or not name.strip():
        raise JobInvalid(
            f"job {stage.type!r} names no application: set job[{index}].application.name",
            field=f"job[{index}].application.name",
        )
    return name


def command_for(execution: Execution, stage: Stage) -> Command:
    """The command that carries out ``stage``'s job; raises :class:`JobInvalid` when it cannot run.

    It acts for the task's authority (who submitted it, as the gateway authenticated them), never a
    job's claim."""
    index = _position(execution, stage)
    authority = execution.acting_for()
    if stage.type in SAVE_TYPES:
        application = stage.context.get("application")
        if not isinstance(application, dict):
            raise JobInvalid(
                f"job {stage.type!r} needs job[{index}].application, an object with the application's attributes",
                field=f"job[{index}].application",
            )
        _application_name(stage, index)
        return SaveApplication(application=application, authority=authority, task_id=execution.id)
    return DeleteApplication(name=_application_name(stage, index), authority=authority, task_id=execution.id)


class Front50ApplicationTask:
    """Send the job's command once, then wait for Front50's answer and judge it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, run: TaskRun) -> TaskResult:
        call = run.stage.context.get(CALL_KEY)
        if not isinstance(call, dict):
            try:
                command = command_for(run.execution, run.stage)
            except JobInvalid as invalid:
                shaped = failure(str(invalid), run.now, "InvalidJob", invalid.field)
                return TaskResult(ExecutionStatus.TERMINAL, context={"exception": shaped})
            command_id = new_id()
            return TaskResult(
                ExecutionStatus.RUNNING,
                context={CALL_KEY: {"commandId": command_id}},
                send=(Outbound(command, to=command.owner(), envelope_id=command_id),),
            )
        if call.get(RESEND) is True:
            command_id = str(call.get("commandId"))
            command = command_for(run.execution, run.stage)
            return TaskResult(
                ExecutionStatus.RUNNING,
                context={CALL_KEY: {"commandId": command_id}},
                send=(Outbound(command, to=command.owner(), envelope_id=command_id),),
            )
        answer = call.get("answer")
        if not isinstance(answer, dict):
            return TaskResult.running(backoff_ms=None)  # record_answer runs it again
        rejected = answer.get("rejected")
        if not isinstance(rejected, dict):
            return TaskResult.succeeded()
        reason = f"{rejected.get('reason')} (status {rejected.get('status')})"
        field = rejected.get("field")
        shaped = failure(reason, run.now, str(rejected.get("commandType")), field if isinstance(field, str) else None)
        return TaskResult(ExecutionStatus.TERMINAL, context={"exception": shaped})


class ApplicationStage:
    """A stage of one of :data:`JOB_TYPES`, run by one task named as Orca names it."""

    def __init__(self, type: str) -> None:
        self.type = type
        self._task = Front50ApplicationTask(DELETE_TYPE if type == DELETE_TYPE else "upsertApplication")

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (self._task,)

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restarted stage sends its command again under a new id: Front50 would answer the old
        id with the old outcome, and the old answer is not this run's."""
        stage.context.pop(CALL_KEY, None)


def application_stage_types() -> list[ApplicationStage]:
    """The stage types of ad-hoc application tasks."""
    return [ApplicationStage(type) for type in JOB_TYPES]


def record_answer(execution: Execution, command_id: str, answer: Json, now: int) -> list[Outgoing]:
    """Store Front50's ``answer`` to command ``command_id`` and run the task awaiting it again.

    A paused task keeps the answer and judges it when the execution resumes. Idempotent: an answer
    to a call already answered, or to none of this execution's, changes nothing."""
    if execution.status.complete:
        return []
    for stage in execution.stages:
        call = stage.context.get(CALL_KEY)
        if not isinstance(call, dict) or call.get("commandId") != command_id or "answer" in call:
            continue
        task = next((task for task in stage.tasks if task.status in AWAITING), None)
        if task is None:
            return []
        stage.context[CALL_KEY] = {**call, "answer": answer}
        if task.status is not ExecutionStatus.RUNNING or execution.status is not ExecutionStatus.RUNNING:
            return []  # resuming runs it
        return [start_task(execution, stage, task, task.start_time or now)]
    return []
