"""Orca's pipeline handlers: each message applies one transition through :class:`Commit`.

Which transition is :mod:`workers.orca.engine.message_transitions`'s table; starting an execution
(it is created first) and starting the waiting ones have handlers of their own.

Starting and steering an execution is judged first by the authority the command carries
(:mod:`workers.orca.engine.access`); a refusal changes nothing and is answered with
``orca.command.rejected`` (status 403) naming the user and what it lacks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from bus import MessageContext
from schemas.authority import Authority, Permission
from schemas.base import Command, Query, Reply
from schemas.json_types import Json
from schemas.orca_engine import (
    CancelExecution,
    ExecutionBuffered,
    ExecutionCommandRejected,
    ExecutionFound,
    ExecutionList,
    GetExecution,
    ListExecutions,
    StartExecution,
    StartWaitingExecutions,
)
from workers.orca.engine.access import AccessPolicy
from workers.orca.engine.artifacts import execution_artifacts
from workers.orca.engine.commit import Commit, Transition
from workers.orca.engine.concurrency import WaitingExecutions, buffers
from workers.orca.engine.message_transitions import Step, step_of
from workers.orca.engine.model import Execution, now_ms
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.plan import new_execution
from workers.orca.engine.refusals import Refusal, refusal, refusal_applies
from workers.orca.engine.status import ExecutionStatus as S
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.transitions import Transitions

log = structlog.get_logger("gennaker.orca.engine")


class ExecutionHandlers:
    """The handlers of the pipeline commands, the answers of other services, and the queries."""

    def __init__(
        self,
        store: ExecutionStore,
        commit: Commit,
        transitions: Transitions,
        waiting: WaitingExecutions,
        access: AccessPolicy | None = None,
    ) -> None:
        self.access = access or AccessPolicy()
        self.store = store
        self.commit = commit
        self.t = transitions
        self.waiting = waiting
        self._prepared = False

    async def _prepare(self) -> None:
        if not self._prepared:
            await self.store.prepare()
            self._prepared = True

    async def _apply(self, execution_id: str, transition: Transition, context: MessageContext) -> None:
        await self.commit.apply(
            execution_id, transition, context.bus, caused_by=context.envelope, redelivered=_again(context)
        )

    def _ask(self, context: MessageContext) -> Callable[[Query], Awaitable[Reply]]:
        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=self.access.front50_timeout)

        return ask

    async def _refuse(self, command: Command, execution_id: str, reason: str, context: MessageContext) -> None:
        log.warning("command refused", command=command.message_type, execution_id=execution_id, reason=reason)
        rejected = ExecutionCommandRejected(
            command_type=command.message_type, execution_id=execution_id, status=403, reason=reason
        )
        await context.publish(rejected, subject=execution_id)

    async def _steering_refused(
        self, command: Command, execution_id: str, authority: Authority, context: MessageContext
    ) -> bool:
        """Refuse (and say so) unless ``authority`` may EXECUTE the execution's application; an
        execution may always be cancelled with its own authority (stopping is always allowed to
        whoever it runs as, as Orca cancels a child with its parent's)."""
        execution = await self.store.get(execution_id)
        if execution is None:
            return False
        if isinstance(command, CancelExecution) and authority == execution.acting_for():
            return False
        reason = await self.access.refusal(authority, execution.application, Permission.EXECUTE, self._ask(context))
        if reason is None:
            return False
        await self._refuse(command, execution_id, reason, context)
        return True

    async def start_execution(self, command: StartExecution, context: MessageContext) -> None:
        await self._prepare()
        application = str(command.pipeline.get("application") or "")
        reason = await self.access.refusal(command.authority, application, Permission.EXECUTE, self._ask(context))
        if reason is not None and await self.store.get(command.execution_id) is None:
            await self._refuse(command, command.execution_id, reason, context)
            return
        at = now_ms()
        execution = new_execution(command, at, self.access, await self._prior_artifacts(command))
        if buffers(execution):
            execution.status = S.BUFFERED  # waits its turn; a redelivery runs the pass again
        else:
            execution.check_after = at + self.commit.stall_ms  # the reconciler starts it if this handler dies now
        inserted = await self.store.insert(execution)
        if inserted:
            log.info("execution created", execution_id=command.execution_id, status=execution.status.value)
        if buffers(execution) and execution.pipeline_config_id:
            started = await self.waiting.start_next(
                execution.pipeline_config_id,
                purge_queue=not execution.keep_waiting_pipelines,
                bus=context.bus,
                caused_by=context.envelope,
                redelivered=_again(context),
            )
            if started != execution.id and (inserted or await self._still_buffered(execution.id, context)):
                # it waits its turn: say so at once (whoever asked to start it is waiting for an answer)
                await context.publish(
                    ExecutionBuffered(
                        execution_id=execution.id,
                        application=execution.application,
                        name=execution.name,
                        pipeline_config_id=execution.pipeline_config_id,
                    ),
                    subject=execution.id,
                )
            return
        await self._apply(command.execution_id, self.t.start_execution, context)

    async def _prior_artifacts(self, command: StartExecution) -> list[Json]:
        """The artifacts of the pipeline's previous execution, when an expected artifact may fall back on them."""
        config_id = command.pipeline.get("id")
        expected = command.pipeline.get("expectedArtifacts")
        if not isinstance(config_id, str) or not isinstance(expected, list):
            return []
        if not any(isinstance(item, dict) and item.get("usePriorArtifact") is True for item in expected):
            return []
        earlier = await self.store.search(application=None, pipeline_config_ids=[config_id], statuses=[], limit=2)
        previous = next((item for item in earlier if item.id != command.execution_id), None)
        if previous is None:
            return []
        stages = [stage.model_dump(by_alias=True, include={"outputs"}) for stage in previous.stages]
        return execution_artifacts(stages, previous.trigger)

    async def _still_buffered(self, execution_id: str, context: MessageContext) -> bool:
        """On a redelivery, whether the execution a first handler stored still waits its turn."""
        if not _again(context):
            return False
        return (await self.store.statuses([execution_id])).get(execution_id) == S.BUFFERED.value

    async def start_waiting_executions(self, command: StartWaitingExecutions, context: MessageContext) -> None:
        await self._prepare()
        await self.waiting.start_next(
            command.pipeline_config_id,
            purge_queue=command.purge_queue,
            bus=context.bus,
            caused_by=context.envelope,
            redelivered=_again(context),
        )

    async def transition(self, message: Any, context: MessageContext) -> None:
        """Apply the transition ``message`` stands for (:data:`~workers.orca.engine.message_transitions.TRANSITIONS`):
        the engine's own steps and the answers of other services."""
        step = step_of(self.t, message)
        if step is None:
            raise ValueError(f"{message.message_type} applies no transition of an execution")
        await self._apply(message.execution_id, step, context)

    async def steer(self, command: Any, context: MessageContext) -> None:
        """A steering command (cancel, pause, resume, skip, restart, judge, update): its transition,
        once its authority may EXECUTE the execution's application. A cancel or a judgment the
        execution's state makes pointless is answered ``orca.command.rejected`` saying why
        (:mod:`workers.orca.engine.refusals`)."""
        if await self._steering_refused(command, command.execution_id, command.authority, context):
            return
        step = step_of(self.t, command)
        if step is None:
            raise ValueError(f"{command.message_type} applies no transition of an execution")
        found: Step = step
        refused: list[Refusal] = []

        def judged_first(execution: Execution, now: int) -> list[Outgoing]:
            refused.clear()  # judged anew against each state the commit loads (a conflict reloads)
            why = refusal(execution, command)
            if why is not None:
                refused.append(why)
                return []
            return found(execution, now)

        stored = await self.commit.apply(
            command.execution_id, judged_first, context.bus, caused_by=context.envelope, redelivered=_again(context)
        )
        if stored is None and refusal_applies(command):
            refused.append(Refusal(404, f"execution {command.execution_id} does not exist"))
        for why in refused:
            log.info(
                "command refused", command=command.message_type, execution_id=command.execution_id, reason=why.reason
            )
            answer = ExecutionCommandRejected(
                command_type=command.message_type,
                execution_id=command.execution_id,
                status=why.status,
                reason=why.reason,
                field=why.field,
            )
            await context.publish(answer, subject=command.execution_id)

    # --- queries ------------------------------------------------------------------------------

    async def get_execution(self, query: GetExecution, context: MessageContext) -> ExecutionFound:
        execution = await self.store.get(query.id)
        return ExecutionFound(execution=execution.to_json() if execution else None)

    async def list_executions(self, query: ListExecutions, context: MessageContext) -> ExecutionList:
        if not query.application and not query.pipeline_config_ids:
            raise ValueError("name an application or at least one pipeline config id")
        executions = await self.store.search(
            application=query.application,
            pipeline_config_ids=query.pipeline_config_ids,
            statuses=query.statuses,
            limit=query.limit,
            trigger_event_id=query.trigger_event_id,
            types=("PIPELINE",),  # ad-hoc tasks (ORCHESTRATION) are listed as tasks, as Gate does
        )
        return ExecutionList(executions=[execution.to_json() for execution in executions])


def _again(context: MessageContext) -> bool:
    """The message is handled again after an earlier handler of it died or failed."""
    return context.redelivered or context.attempt > 1
