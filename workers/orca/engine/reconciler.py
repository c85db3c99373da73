"""Finds executions whose next message is missing and re-drives them: no zombie executions.

The outbox makes a stored change's messages survive a crash, but a message can still vanish after
it was handed over: the in-memory bus of ``gennaker up`` dies with its process, a broker may be
wiped. So every stored change also records ``checkAfter``: when, if nothing has happened by then,
the execution should be looked at (shortly after an immediate message; after a timer's due time;
never while every running task waits for a judgment or an answer). Every ``interval`` seconds the
reconciler takes the executions past their ``checkAfter`` and applies :func:`redrive`, which
works out from the stored state alone what should happen next and sends it again. Sending again
is safe: every transition is idempotent, and a re-driven task gets a new token, making any late
original run stale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from bus import Bus
from schemas.orca_engine import ContinueRollback, StartStage
from workers.orca.engine import graph
from workers.orca.engine.loop import every
from workers.orca.engine.model import Execution, now_ms
from workers.orca.engine.outgoing import Outgoing, complete_execution_message, complete_stage_message, start_task
from workers.orca.engine.status import ExecutionStatus as S
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.transitions import Transitions

if TYPE_CHECKING:
    from workers.orca.engine.commit import Commit

log = structlog.get_logger("gennaker.orca.reconciler")


def redrive(transitions: Transitions, execution: Execution, now: int, stall_ms: int) -> list[Outgoing]:
    """The messages that should be in flight for ``execution`` and are overdue, from its state alone."""
    execution.check_after = None
    if execution.status is S.NOT_STARTED:
        return transitions.start_execution(execution, now)
    if execution.status is not S.RUNNING:
        return []
    messages: list[Outgoing] = []
    if execution.rollback is not None and execution.rollback.get("status") == "RUNNING":
        messages.append(Outgoing(ContinueRollback(execution_id=execution.id)))
    for stage in execution.stages:
        if stage.status is not S.RUNNING:
            continue
        children = [child for child in execution.children(stage) if child.synthetic_role != "compensation"]
        if any(child.status in (S.RUNNING, S.PAUSED) for child in children):
            continue  # its synthetic stages move it on
        if any(child.status is S.NOT_STARTED for child in children) or not stage.tasks:
            messages.append(complete_stage_message(execution, stage))  # starts them, or moves on
            continue
        running = [task for task in stage.tasks if task.status is S.RUNNING]
        for task in running:
            lost = task.token is None  # its CompleteTask vanished
            overdue = task.wakes_at is not None and task.wakes_at + stall_ms <= now
            if lost or overdue:
                messages.append(start_task(execution, stage, task, task.start_time or now))
        waiting = [task for task in stage.tasks if task.status is S.NOT_STARTED]
        if not running and waiting:
            messages.append(start_task(execution, stage, waiting[0], now))
        elif not running and not any(task.status is S.PAUSED for task in stage.tasks):
            messages.append(complete_stage_message(execution, stage))
    ready = [stage for stage in execution.top_level_stages if graph.ready_to_start(execution, stage)]
    messages.extend(Outgoing(StartStage(execution_id=execution.id, stage_id=stage.id)) for stage in ready)
    if not ready and not any(stage.status in (S.RUNNING, S.PAUSED) for stage in execution.stages):
        messages.append(complete_execution_message(execution))
    return messages


class Reconciler:
    """Re-drives stalled executions every ``interval`` seconds (a service background loop)."""

    def __init__(
        self, store: ExecutionStore, commit: Commit, transitions: Transitions, *, interval: float, stall_ms: int
    ) -> None:
        self.store = store
        self.commit = commit
        self.transitions = transitions
        self.interval = interval
        self.stall_ms = stall_ms

    async def sweep(self, bus: Bus) -> int:
        """Re-drive every execution past its ``checkAfter``; returns how many were looked at."""
        stalled = await self.store.stalled(now_ms())
        for execution in stalled:
            log.info("re-driving a stalled execution", execution_id=execution.id, status=execution.status.value)
            await self.commit.apply(
                execution.id,
                lambda stored, at: redrive(self.transitions, stored, at, self.stall_ms),
                bus,
                caused_by=None,
            )
        return len(stalled)

    async def run(self, bus: Bus) -> None:
        await every(self.interval, lambda: self.sweep(bus), name="reconciliation", prepare=self.store.prepare)
