"""Orca's task handlers: one per message, each one state transition of a stored task.

Every handler follows the same three moves, so a crash between any two loses nothing:

1. load the task and apply a transition from :mod:`workers.orca.tasks`; a step about to run gets
   a fresh command id *in the record*;
2. save it (compare-and-set on ``version``; on a conflict reload and apply again) with
   ``delivered = False``;
3. deliver: send the running step's command under that stored id, publish ``orca.task.updated``,
   then mark the record delivered.

A redelivered message finds its transition already applied and changes nothing; if the crash came
before step 3 finished, it delivers what was pending (at least once: Front50 answers a repeated
command id with the same outcome, and Orca ignores an answer for a step already finished).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import structlog

from bus import MessageContext, new_id
from schemas.base import Command
from schemas.front50 import (
    ApplicationDeleted,
    ApplicationSaved,
    CommandRejected,
    DeleteApplication,
    SaveApplication,
)
from schemas.orca import CancelTask, GetTask, ListTasks, SubmitTask, TaskFound, TaskList, TaskUpdated
from workers.orca.store import StaleTask, TaskStore
from workers.orca.tasks import Step, Task, now_ms

log = structlog.get_logger("gennaker.orca.tasks")

Transition = Callable[[Task, int], Step | None]
Loader = Callable[[], Awaitable[Task | None]]
MAX_CONFLICTS = 8


class JobInvalid(ValueError):
    """A job cannot be turned into a command; ``field`` names the offending part of the task."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _application_name(step: Step, index: int) -> str:
    application = step.job.get("application")
    name = application.get("name") if isinstance(application, dict) else application
    if not isinstance(name, str) or not name.strip():
        raise JobInvalid(
            f"job {step.job_type!r} names no application: set job[{index}].application.name",
            field=f"job[{index}].application.name",
        )
    return name


def command_for(task: Task, step: Step) -> Command:
    """The command that carries out ``step``; raises :class:`JobInvalid` when the job cannot run."""
    index = task.steps.index(step)
    job_type = step.job_type
    authority = task.acting_for()  # who submitted the task, as the gateway authenticated them; never a job's claim
    if job_type in ("createApplication", "updateApplication"):
        application = step.job.get("application")
        if not isinstance(application, dict):
            raise JobInvalid(
                f"job {job_type!r} needs job[{index}].application, an object with the application's attributes",
                field=f"job[{index}].application",
            )
        _application_name(step, index)
        return SaveApplication(application=application, authority=authority, task_id=task.id)
    if job_type == "deleteApplication":
        return DeleteApplication(name=_application_name(step, index), authority=authority, task_id=task.id)
    known = "createApplication, updateApplication, deleteApplication"
    raise JobInvalid(f"no job type {job_type!r} in Orca; known types: {known}", field=f"job[{index}].type")


class TaskHandlers:
    """The handlers of ``orca.SubmitTask`` / ``CancelTask``, the Front50 answers, and the task queries."""

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self._prepared = False

    async def _prepare(self) -> None:
        if not self._prepared:
            await self.store.prepare()
            self._prepared = True

    # --- commands ---------------------------------------------------------------------------

    async def submit(self, command: SubmitTask, context: MessageContext) -> None:
        """Create the task (once per id) and start its first step."""
        await self._prepare()
        task = Task.submitted(
            task_id=command.task_id,
            application=command.application,
            description=command.description,
            jobs=command.job,
            authority=command.authority,
            correlation_id=context.envelope.correlationid,
        )
        if await self.store.insert(task):
            log.info("task submitted", task_id=task.id, application=task.application, steps=len(task.steps))
            await self._apply(lambda: self.store.get(command.task_id), lambda task, at: task.start(at), context)
            return
        # a redelivery: finish delivering if a crash interrupted it, and answer the command again
        # (the gateway waits for an answer caused by this very command)
        await self._apply(lambda: self.store.get(command.task_id), lambda task, at: task.start(at), context)
        stored = await self.store.get(command.task_id)
        if stored is not None:
            await context.publish(TaskUpdated(task=stored.to_json()), subject=stored.id)

    async def cancel(self, command: CancelTask, context: MessageContext) -> None:
        """CANCELED unless the task already finished; an unknown task is ignored."""

        def cancel(task: Task, at: int) -> Step | None:
            task.cancel(command.authority.user, at)
            return None

        await self._apply(lambda: self.store.get(command.task_id), cancel, context)

    # --- Front50's answers ------------------------------------------------------------------

    async def step_done(self, event: ApplicationSaved | ApplicationDeleted, context: MessageContext) -> None:
        """A step's command succeeded: run the next step, or finish the task."""
        command_id = context.envelope.causationid
        if command_id is None:
            return

        def succeeded(task: Task, at: int) -> Step | None:
            step = task.step_of_command(command_id)
            return task.step_succeeded(step, at) if step is not None else None

        await self._apply(lambda: self.store.by_command(command_id), succeeded, context)

    async def step_rejected(self, event: CommandRejected, context: MessageContext) -> None:
        """A step's command was refused: the task is TERMINAL with Front50's reason."""
        command_id = context.envelope.causationid

        async def load() -> Task | None:
            task = await self.store.by_command(command_id) if command_id else None
            if task is None and event.task_id:
                task = await self.store.get(event.task_id)
            return task

        def rejected(task: Task, at: int) -> Step | None:
            step = (task.step_of_command(command_id) if command_id else None) or task.running_step()
            if step is not None:
                reason = f"{event.reason} (status {event.status})"
                task.step_failed(step, reason=reason, at=at, field=event.field, exception_type=event.command_type)
            return None

        await self._apply(load, rejected, context)

    # --- queries ----------------------------------------------------------------------------

    async def get_task(self, query: GetTask, context: MessageContext) -> TaskFound:
        """One task in Spinnaker's JSON, or ``None``."""
        task = await self.store.get(query.task_id)
        return TaskFound(task=task.to_json() if task else None)

    async def list_tasks(self, query: ListTasks, context: MessageContext) -> TaskList:
        """An application's tasks, newest first."""
        return TaskList(
            tasks=[task.to_json() for task in await self.store.of_application(query.application, query.limit)]
        )

    # --- the three moves --------------------------------------------------------------------

    async def _apply(self, load: Loader, transition: Transition, context: MessageContext) -> None:
        for _ in range(MAX_CONFLICTS):
            task = await load()
            if task is None:
                return
            at = now_ms()
            before = task.model_dump()
            self._begin(task, transition(task, at), at)
            if task.model_dump() != before:
                task.delivered = False
                try:
                    await self.store.save(task)
                except StaleTask:
                    continue
            await self._deliver(task, context)
            return
        raise StaleTask(f"gave up after {MAX_CONFLICTS} concurrent changes to the task; the bus will retry")

    def _begin(self, task: Task, step: Step | None, at: int) -> None:
        """Give ``step`` a fresh command id, or fail it (and so the task) when its job cannot run."""
        if step is None:
            return
        try:
            command_for(task, step)
        except JobInvalid as error:
            task.begin_step(step, None, at)
            task.step_failed(step, reason=str(error), at=at, field=error.field, exception_type="InvalidJob")
            return
        task.begin_step(step, new_id(), at)

    async def _deliver(self, task: Task, context: MessageContext) -> None:
        if task.delivered:
            return
        step = task.running_step()
        if step is not None and step.command_id is not None:
            command = command_for(task, step)
            envelope = context.bus.envelope(command, subject=task.id, caused_by=context.envelope)
            envelope.id = step.command_id
            await context.bus.send_envelope(envelope, to=command.owner())
        await context.publish(TaskUpdated(task=task.to_json()), subject=task.id)
        log.info("task updated", task_id=task.id, status=task.status.value)
        task.delivered = True
        with contextlib.suppress(StaleTask):  # someone moved the task on since; they deliver their own state
            await self.store.save(task)
