"""The I/O of ``pipeline`` stages: starting the child (``orca.StartChildPipeline``), hearing that it
finished (``orca.execution.completed``, or a periodic look at children of long-waiting parents in
case that event was lost) and cancelling it when its parent stage ends otherwise
(``orca.stage.completed``).

Starting is idempotent: the child's execution id is fixed by the parent stage, so ``StartExecution``
delivered twice starts one child. The attempt is claimed in the parent stage's context before
Front50 is asked, so an answered attempt is not started again; one claimed but never answered (its
claimer died) is started again by the redelivered command at once. Orca hears its own completion
events on its events queue; only executions whose trigger is a ``pipeline`` trigger naming a parent
are looked at further.
"""

from __future__ import annotations

from functools import partial

import structlog

from bus import Bus, BusError, MessageContext
from schemas.authority import Authority, Permission
from schemas.base import Query, Reply
from schemas.front50 import GetPipelineConfig, PipelineFound
from schemas.json_types import Json
from schemas.orca_engine import CancelExecution, ExecutionCompleted, StageCompleted, StartExecution
from schemas.orca_stages import StartChildPipeline
from workers.orca.engine.access import AccessPolicy
from workers.orca.engine.commit import Commit
from workers.orca.engine.effects import answers
from workers.orca.engine.loop import every
from workers.orca.engine.model import Execution, now_ms
from workers.orca.engine.outgoing import Outgoing, start_task
from workers.orca.engine.stages.pipeline import CALL_KEY, STATUS_KEY, PipelineStage, child_execution_id
from workers.orca.engine.status import ExecutionStatus
from workers.orca.engine.store import ExecutionStore

log = structlog.get_logger("gennaker.orca.pipeline")

FRONT50_TIMEOUT = 10.0
WAITING = (ExecutionStatus.RUNNING, ExecutionStatus.PAUSED)
SUCCEEDED = ExecutionStatus.SUCCEEDED


CHECK_INTERVAL = 30.0
"""Seconds between two looks for parents whose child finished unheard (:meth:`ChildPipelines.sweep`)."""
CHECK_AFTER_MS = 30_000
"""How long a parent stage runs before the sweep looks at its child."""


class ChildPipelines:
    """Handlers for child pipelines; ``store`` reads a child's trigger to find its parent."""

    def __init__(self, store: ExecutionStore, commit: Commit, access: AccessPolicy | None = None) -> None:
        self.store = store
        self.commit = commit
        self.access = access or AccessPolicy()

    async def sweep(self, bus: Bus) -> int:
        """Tell parents that wait on a child already finished (its ``orca.execution.completed`` was
        lost, as an in-process bus loses it when its process dies); returns how many were told.

        A parent stage waiting on its child has no timer, so the engine's reconciler never looks at
        it; this does, for stages running longer than ``CHECK_AFTER_MS``.
        """
        parents = await self.store.running_stages_of_type(PipelineStage.type, now_ms() - CHECK_AFTER_MS)
        waiting = {
            (parent.id, stage.id): child_execution_id(parent, stage)
            for parent in parents
            for stage in parent.stages
            if stage.type == PipelineStage.type and stage.status is ExecutionStatus.RUNNING and stage.start_time
        }
        finished = {
            child: status
            for child, status in (await self.store.statuses(list(waiting.values()))).items()
            if ExecutionStatus(status).complete
        }
        told = 0
        for (parent_id, stage_id), child_id in waiting.items():
            if child_id in finished:
                log.warning("a finished child was not heard of; telling its parent", parent=parent_id, child=child_id)
                await self.commit.apply(
                    parent_id,
                    partial(_child_finished_at, stage_id=stage_id, child_id=child_id, status=finished[child_id]),
                    bus,
                    caused_by=None,
                )
                told += 1
        return told

    async def run(self, bus: Bus) -> None:
        """Sweep every ``CHECK_INTERVAL`` seconds, until cancelled (an engine background loop)."""
        await every(CHECK_INTERVAL, lambda: self.sweep(bus), name="child pipeline check")

    async def start_child_pipeline(self, command: StartChildPipeline, context: MessageContext) -> None:
        if await answers.claim(self.commit, command, CALL_KEY, context) is answers.Claim.DONE:
            return
        # WON, or TAKEN: claimed by a handler that stored no answer (it died, or failed, and this is the
        # redelivery). Starting is idempotent (the child's id is the parent stage's), so start it again
        # rather than leave the parent waiting for the attempt's deadline.
        answer = await self._start(command, context)
        parent = await answers.answer(self.commit, command, CALL_KEY, answer, context)
        stage = parent.stage(command.stage_id) if parent else None
        if answer.get("started") and stage is not None and stage.status.complete and stage.status is not SUCCEEDED:
            reason = f"parent stage {stage.name!r} {stage.status}"
            await self._cancel_child(command.child_execution_id, reason, context, command.authority)

    async def _start(self, command: StartChildPipeline, context: MessageContext) -> Json:
        try:
            reply = await context.ask(GetPipelineConfig(id=command.pipeline_config_id), timeout=FRONT50_TIMEOUT)
        except BusError as error:
            return {"error": f"Front50 did not answer for pipeline config: {error}", "retryable": True}
        if not isinstance(reply, PipelineFound) or reply.pipeline is None:
            return {"error": f"no pipeline config {command.pipeline_config_id!r} in Front50"}
        config = reply.pipeline
        if config.get("disabled") is True:
            return {"error": f"pipeline {config.get('name')!r} is disabled"}

        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=FRONT50_TIMEOUT)

        application = str(config.get("application") or "")
        try:
            refusal = await self.access.refusal(command.authority, application, Permission.EXECUTE, ask)
        except BusError as error:
            return {"error": f"Front50 did not answer for the child's application: {error}", "retryable": True}
        if refusal is not None:
            return {"error": f"{refusal}, so this stage may not start its pipeline {config.get('name')!r}"}
        await context.send(
            StartExecution(
                execution_id=command.child_execution_id,
                pipeline=config,
                trigger=command.trigger,
                authority=command.authority,
            )
        )
        log.info("child pipeline started", parent=command.execution_id, child=command.child_execution_id)
        return {"started": True, "executionId": command.child_execution_id, "executionName": config.get("name")}

    async def execution_completed(self, event: ExecutionCompleted, context: MessageContext) -> None:
        child = await self.store.get(event.execution_id)
        if child is None or child.trigger.get("type") != "pipeline":
            return
        parent = child.trigger.get("parentExecution") or {}
        stage_id = child.trigger.get("parentPipelineStageId")
        if not isinstance(parent, dict) or not parent.get("id") or not isinstance(stage_id, str):
            return
        await self.commit.apply(
            str(parent["id"]),
            lambda ex, at: child_finished(ex, stage_id, child.id, event.status, at),
            context.bus,
            caused_by=context.envelope,
        )

    async def stage_completed(self, event: StageCompleted, context: MessageContext) -> None:
        if event.stage_type != PipelineStage.type or event.status == ExecutionStatus.SUCCEEDED.value:
            return
        parent = await self.store.get(event.execution_id)
        stage = parent.stage(event.stage_id) if parent else None
        if parent is None or stage is None or stage.start_time is None:
            return
        reason = f"parent stage {stage.name!r} {event.status}"
        if parent.canceled_by:
            reason += f" (canceled by {parent.canceled_by})"
        await self._cancel_child(child_execution_id(parent, stage), reason, context, parent.acting_for())

    async def _cancel_child(self, child_id: str, reason: str, context: MessageContext, authority: Authority) -> None:
        """Cancel the child with the authority that started it: the parent's."""
        await context.send(CancelExecution(execution_id=child_id, authority=authority, reason=reason))


def _child_finished_at(execution: Execution, now: int, *, stage_id: str, child_id: str, status: str) -> list[Outgoing]:
    return child_finished(execution, stage_id, child_id, status, now)


def child_finished(execution: Execution, stage_id: str, child_id: str, status: str, now: int) -> list[Outgoing]:
    """Record the child's final ``status`` on its parent stage and run the stage's task again."""
    stage = execution.stage(stage_id)
    if stage is None or stage.status not in WAITING or execution.status.complete:
        return []
    finished = {"executionId": child_id, "status": status}
    if child_execution_id(execution, stage) != child_id or stage.context.get(STATUS_KEY) == finished:
        return []
    stage.context[STATUS_KEY] = finished
    task = next((task for task in stage.tasks if task.status is ExecutionStatus.RUNNING), None)
    if task is None or execution.status is not ExecutionStatus.RUNNING:
        return []
    return [start_task(execution, stage, task, task.start_time or now)]
