"""Ad-hoc tasks (Gate's ``POST /tasks``) as executions of type ORCHESTRATION on the one engine, as
Spinnaker's Orca runs ``/ops`` and ``/orchestrate``: one stage per job, in order. A job is any stage
type Orca runs: the application jobs of :mod:`workers.orca.engine.stages.applications` (Front50
judges who may create, change or delete an application), or any pipeline stage type (``wait``, a
Clouddriver operation, ``deployManifest``…), which needs EXECUTE on the task's application as a
pipeline does (Orca judges it before storing anything; Clouddriver judges the accounts).

* ``orca.SubmitTask`` stores the execution (its id is the task id: once per id) and starts it
  through the engine's commit, so it has the engine's crash-safety: the state and the command it
  causes are one write, delivered after (outbox), and a redelivered submit changes nothing.
* Front50's answers (``causationid`` = the command's envelope id, ``subject`` = the execution) are
  recorded on the stage awaiting them, in a task or in a pipeline (whose application stages
  ``createApplication``, ``updateApplication`` and ``deleteApplication`` run the same task).
* ``orca.GetTask`` / ``orca.ListTasks`` answer Spinnaker's task JSON (:func:`task_view`, Orca's
  ``OrchestrationViewModel``): ``id``, ``name``, ``application``, ``status``, ``variables``,
  ``steps``, ``buildTime``, ``startTime``, ``endTime`` and ``execution``.
* ``orca.task.updated`` carries the task after each change these handlers make, and the engine's
  write that finishes a task carries it too, whatever finished it (the last job's answer, a
  ``wait`` job's timer, a timeout, a cancel), once; the gateway's ``POST /tasks`` waits for the one
  caused by its ``SubmitTask``.

Tasks the former task engine stored in ``orca_tasks`` are migrated on read: the first message or
query that names one (by id, or by application for a listing) stores it as an ORCHESTRATION
(:mod:`workers.orca.former_tasks`), carries on with it on the engine (a step that may not have
sent its command sends it again under the same id) and deletes the old record.
"""

from __future__ import annotations

import structlog

from bus import MessageContext, new_id
from schemas.authority import Permission
from schemas.base import Query, Reply
from schemas.front50 import ApplicationDeleted, ApplicationSaved, CommandRejected
from schemas.json_types import Json
from schemas.orca import CancelTask, GetTask, ListTasks, SubmitTask, TaskFound, TaskList, TaskUpdated
from schemas.orca_engine import CancelExecution, ExecutionCommandRejected
from workers.orca.engine.handlers import ExecutionHandlers
from workers.orca.engine.model import Execution, Stage, now_ms
from workers.orca.engine.outgoing import Outgoing, start_task
from workers.orca.engine.stages.applications import CALL_KEY, JOB_TYPES, RESEND, failure, record_answer
from workers.orca.engine.status import ExecutionStatus
from workers.orca.engine.task_view import ORCHESTRATION, task_view
from workers.orca.former_tasks import FormerTasks, as_orchestration

log = structlog.get_logger("gennaker.orca.orchestrations")


def new_orchestration(command: SubmitTask, engine: ExecutionHandlers, at: int) -> Execution:
    """The NOT_STARTED ORCHESTRATION ``command`` asks for: one stage per job, each after the one before.

    A job of a type Orca does not run, or holding what the store cannot keep (a key with a NUL byte
    or a leading ``$``, text that is not Unicode), leaves the execution's ``exception`` set naming
    the field (``job[i].type``): it fails as it starts, having done nothing (such a job is not kept)."""
    user = command.authority.user
    stages = []
    problem: Json | None = None
    for index, job in enumerate(command.job):
        job_type = str(job.get("type") or "")
        context = {key: value for key, value in job.items() if key not in ("type", "refId", "requisiteStageRefIds")}
        unstorable = _unstorable(context, f"job[{index}]")
        if unstorable is not None:
            context = {}
            if problem is None:
                why = "a key with a NUL byte or a leading '$', or text that is not Unicode"
                error = f"{unstorable} cannot be stored ({why})"
                problem = failure(error, at, "InvalidJob", unstorable)
        context["user"] = user  # the authenticated caller, never a job's claim
        stages.append(
            Stage(
                id=new_id(),
                ref_id=str(index + 1),
                type=job_type,
                name=job_type or "unknown",
                context=context,
                requisite_stage_ref_ids=[str(index)] if index else [],
            )
        )
        if job_type not in JOB_TYPES and engine.t.stage_types.find(job_type) is None and problem is None:
            known = ", ".join(JOB_TYPES)
            error = f"no job type {job_type!r} in Orca; known types: {known}, or any pipeline stage type"
            problem = failure(error, at, "InvalidJob", f"job[{index}].type")
    kinds = ", ".join(stage.type or "unknown" for stage in stages)
    application, description = _text(command.application), _text(command.description)
    return Execution(
        id=command.task_id,
        type=ORCHESTRATION,
        application=application,
        name=description or f"{_text(kinds)} of {application}",
        description=description or None,
        build_time=at,
        trigger={"type": "manual", "user": user},
        stages=stages,
        authentication=engine.access.authentication_of(command.authority),
        authority=command.authority,
        exception=problem,
        check_after=at + engine.commit.stall_ms,  # the reconciler starts it if this handler dies now
    )


def _text(value: str) -> str:
    """``value`` with any lone surrogate (not Unicode, so not storable) replaced by ``?``."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _unstorable(value: object, path: str) -> str | None:
    """The path of the first part of ``value`` MongoDB would refuse to store, or ``None``."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or "\x00" in key or key.startswith("$") or _unstorable(key, path):
                return f"{path}.{key!r}"
            if (found := _unstorable(item, f"{path}.{key}")) is not None:
                return found
    if isinstance(value, list):
        for n, item in enumerate(value):
            if (found := _unstorable(item, f"{path}[{n}]")) is not None:
                return found
    return None


class OrchestrationHandlers:
    """``orca.SubmitTask`` / ``CancelTask``, Front50's answers and the task queries, on the engine."""

    def __init__(self, engine: ExecutionHandlers, former: FormerTasks) -> None:
        self.engine = engine
        self.store = engine.store
        self.former = former
        self._prepared = False

    async def _prepare(self) -> None:
        if not self._prepared:
            await self.store.prepare()
            self._prepared = True

    async def submit(self, command: SubmitTask, context: MessageContext) -> None:
        """Store the ORCHESTRATION (once per id), start it and answer with the task as it is."""
        await self._prepare()
        if await self._refused(command, context):
            return
        at = now_ms()
        if await self._migrate(command.task_id, context):
            log.info("task submitted again", task_id=command.task_id)
        elif await self.store.insert(new_orchestration(command, self.engine, at)):
            log.info("task submitted", task_id=command.task_id, application=command.application, steps=len(command.job))
        finished_before: list[bool] = []

        def start(execution: Execution, now: int) -> list[Outgoing]:
            finished_before[:] = [execution.status.complete]  # judged anew on each state the commit loads
            return self.engine.t.start_execution(execution, now)

        execution = await self.engine.commit.apply(
            command.task_id, start, context.bus, caused_by=context.envelope, redelivered=_again(context)
        )
        await self._updated(execution, context, finished_before=all(finished_before))

    async def _refused(self, command: SubmitTask, context: MessageContext) -> bool:
        """Refuse (and say so, 403) a new task with pipeline stage jobs its authority may not EXECUTE."""
        if all(str(job.get("type") or "") in JOB_TYPES for job in command.job):
            return False
        if await self.store.get(command.task_id) is not None:
            return False  # judged when it was first submitted
        access = self.engine.access

        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=access.front50_timeout)

        reason = await access.refusal(command.authority, command.application, Permission.EXECUTE, ask)
        if reason is None:
            return False
        log.warning("task refused", task_id=command.task_id, reason=reason)
        rejected = ExecutionCommandRejected(
            command_type=command.message_type, execution_id=command.task_id, status=403, reason=reason
        )
        await context.publish(rejected, subject=command.task_id)
        return True

    async def cancel(self, command: CancelTask, context: MessageContext) -> None:
        """CANCELED unless the task already finished (judged as the engine judges any cancel)."""
        await self._migrate(command.task_id, context)
        before = await self.store.get(command.task_id)
        await self.engine.steer(CancelExecution(execution_id=command.task_id, authority=command.authority), context)
        finished_before = before is None or before.status.complete
        await self._updated(await self.store.get(command.task_id), context, finished_before=finished_before)

    async def step_done(self, event: ApplicationSaved | ApplicationDeleted, context: MessageContext) -> None:
        """Front50 did what a step asked: record it, so the task runs its next step or finishes."""
        await self._answer({"ok": True}, context)

    async def step_rejected(self, event: CommandRejected, context: MessageContext) -> None:
        """Front50 refused a step's command: the task is TERMINAL with Front50's reason."""
        rejected = {
            "reason": event.reason,
            "status": event.status,
            "field": event.field,
            "commandType": event.command_type,
        }
        await self._answer({"rejected": rejected}, context)

    async def get_task(self, query: GetTask, context: MessageContext) -> TaskFound:
        """One task in Spinnaker's JSON, or ``None``."""
        await self._migrate(query.task_id, context)
        execution = await self.store.get(query.task_id)
        found = execution is not None and execution.type == ORCHESTRATION
        return TaskFound(task=task_view(execution) if execution is not None and found else None)

    async def list_tasks(self, query: ListTasks, context: MessageContext) -> TaskList:
        """An application's tasks, newest first (those of the former task engine migrated first)."""
        for task_id in await self.former.ids_of_application(query.application, query.limit):
            await self._migrate(task_id, context)
        executions = await self.store.search(
            application=query.application,
            pipeline_config_ids=(),
            statuses=(),
            limit=query.limit,
            types=(ORCHESTRATION,),
        )
        return TaskList(tasks=[task_view(execution) for execution in executions])

    async def _answer(self, answer: Json, context: MessageContext) -> None:
        command_id, execution_id = context.envelope.causationid, context.envelope.subject
        if not command_id or not execution_id:
            return
        await self._migrate(execution_id, context)
        recorded: list[bool] = []

        def record(execution: Execution, at: int) -> list[Outgoing]:
            recorded.clear()  # judged anew against each state the commit loads (a conflict reloads)
            outgoing = record_answer(execution, command_id, answer, at)
            recorded.append(bool(outgoing))
            return outgoing

        # a pipeline's application stages await Front50 too: only a task is announced as one
        execution = await self.engine.commit.apply(
            execution_id, record, context.bus, caused_by=context.envelope, redelivered=_again(context)
        )
        if any(recorded) and execution is not None and execution.type == ORCHESTRATION:
            await self._updated(execution, context, finished_before=False)

    async def _migrate(self, task_id: str, context: MessageContext) -> bool:
        """Move the former engine's task ``task_id`` onto the engine and carry on with it; False if
        there is none. Safe to repeat: the insert is once per id, the carrying on a no-op once done."""
        former = await self.former.get(task_id)
        if former is None:
            return False
        await self._prepare()
        authority = former.authority
        authentication = (
            self.engine.access.authentication_of(authority) if authority is not None else {"user": former.user}
        )
        if await self.store.insert(as_orchestration(former, authentication)):
            log.info("task moved onto the pipeline engine", task_id=task_id, status=former.status.value)
        await self.engine.commit.apply(
            task_id, self._carry_on, context.bus, caused_by=context.envelope, redelivered=_again(context)
        )
        await self.former.forget(task_id)
        return True

    def _carry_on(self, execution: Execution, now: int) -> list[Outgoing]:
        """Start a migrated task that had not started; send again a command that may not have been sent."""
        if execution.status is ExecutionStatus.NOT_STARTED:
            return self.engine.t.start_execution(execution, now)
        if execution.status is not ExecutionStatus.RUNNING:
            return []
        for stage in execution.stages:
            call = stage.context.get(CALL_KEY)
            task = next((task for task in stage.tasks if task.status is ExecutionStatus.RUNNING), None)
            if isinstance(call, dict) and call.get(RESEND) is True and task is not None and task.token is None:
                return [start_task(execution, stage, task, now)]
        return []

    async def _updated(self, execution: Execution | None, context: MessageContext, *, finished_before: bool) -> None:
        """Announce the task as it is now, unless this handler's own change finished it: the engine's
        finishing write announced it already, in the same commit (once, whoever finished it)."""
        if execution is not None and not (execution.status.complete and not finished_before):
            await context.publish(TaskUpdated(task=task_view(execution)), subject=execution.id)
            log.info("task updated", task_id=execution.id, status=execution.status.value)


def _again(context: MessageContext) -> bool:
    return context.redelivered or context.attempt > 1
