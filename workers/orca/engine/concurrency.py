"""``limitConcurrent`` and ``keepWaitingPipelines``: one running execution per pipeline config.

As in Orca (``StartExecutionHandler``, ``StartWaitingExecutionsHandler``), an execution of a
pipeline with ``limitConcurrent: true`` is stored BUFFERED; it starts once no other execution of
its config runs. When one finishes (any final status, cancel included) the next waiting one
starts: with ``keepWaitingPipelines: false`` only the newest, with ``true`` the oldest first.
With ``keepWaitingPipelines: false`` a newer execution arriving also cancels the older waiting ones
at once (Orca cancels them only when the running one ends, starting the newest: the same outcome,
known sooner).

**Who runs.** ``orca_pipeline_slots`` holds one document per config, ``{_id: configId, holder}``.
Taking the slot is a compare-and-set from the holder that was read, so of two concurrent passes
only one starts an execution. The slot is never released explicitly: a holder that is finished
(or gone) counts as free, so a crash after an execution ends never blocks its config.

**Nothing waits forever.** A pass (:meth:`WaitingExecutions.start_next`) runs after an execution is
stored BUFFERED (in the ``StartExecution`` handler) and after one finishes (``StartWaitingExecutions``,
in the outbox of the very write that finishes it). Each writes before it reads, so whichever pass
runs second sees both the finished holder and the waiting execution. A pass that dies after taking
the slot leaves a BUFFERED holder, which the next pass (a redelivery) starts.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bus import Envelope, Sender
from workers.orca.engine.commit import Commit, Transition
from workers.orca.engine.model import Execution
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.status import ExecutionStatus as S
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.transitions import Transitions

COLLECTION = "orca_pipeline_slots"
BUSY = (S.NOT_STARTED, S.RUNNING, S.PAUSED, S.SUSPENDED)
PURGED_BY = "spinnaker"
PURGE_REASON = "a newer execution of this pipeline was queued (keepWaitingPipelines is false)"


def buffers(execution: Execution) -> bool:
    """Whether ``execution`` waits its turn behind other executions of its config."""
    return execution.limit_concurrent and bool(execution.pipeline_config_id)


class WaitingExecutions:
    """Starts BUFFERED executions when their config's slot is free."""

    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], store: ExecutionStore, commit: Commit, transitions: Transitions
    ) -> None:
        self.slots = db[COLLECTION]
        self.store = store
        self.commit = commit
        self.t = transitions

    async def start_next(
        self, config_id: str, *, purge_queue: bool, bus: Sender, caused_by: Envelope | None, redelivered: bool = False
    ) -> str | None:
        """Start the next waiting execution of ``config_id`` unless one of it runs; idempotent. With
        ``purge_queue``, waiting executions older than the newest are canceled. Returns the id of the
        execution this pass started, if it started one."""
        await self.slots.update_one({"_id": config_id}, {"$setOnInsert": {"holder": None}}, upsert=True)
        slot = await self.slots.find_one({"_id": config_id})
        holder_id = slot.get("holder") if slot else None
        holder = await self.store.get(holder_id) if holder_id else None
        if holder is not None and holder.status is S.BUFFERED:
            await self._start(holder, bus, caused_by, redelivered)  # a pass took the slot for it and stopped short
            return holder.id
        if holder is not None and holder.status in BUSY:
            if purge_queue:
                await self._purge((await self._waiting(config_id))[:-1], bus, caused_by)
            return None
        waiting = await self._waiting(config_id)
        if not waiting:
            return None
        chosen = waiting[-1] if purge_queue else waiting[0]
        taken = await self.slots.update_one({"_id": config_id, "holder": holder_id}, {"$set": {"holder": chosen.id}})
        if taken.modified_count != 1:
            return None  # another pass took it
        await self._start(chosen, bus, caused_by, redelivered)
        if purge_queue:
            await self._purge(waiting[:-1], bus, caused_by)
        return chosen.id

    async def _waiting(self, config_id: str) -> list[Execution]:
        """The BUFFERED executions of ``config_id``, oldest first."""
        waiting = await self.store.search(
            application=None, pipeline_config_ids=[config_id], statuses=[S.BUFFERED.value], limit=1000
        )
        return sorted(waiting, key=lambda execution: (execution.build_time, execution.id))

    async def _purge(self, older: list[Execution], bus: Sender, caused_by: Envelope | None) -> None:
        for execution in older:
            await self.commit.apply(
                execution.id,
                lambda execution, at: self.t.cancel_execution(execution, PURGED_BY, PURGE_REASON, at),
                bus,
                caused_by=caused_by,
            )

    async def _start(self, execution: Execution, bus: Sender, caused_by: Envelope | None, redelivered: bool) -> None:
        await self.commit.apply(
            execution.id, _start_buffered(self.t), bus, caused_by=caused_by, redelivered=redelivered
        )


def _start_buffered(transitions: Transitions) -> Transition:
    def transition(execution: Execution, now: int) -> list[Outgoing]:
        if execution.status is not S.BUFFERED:
            return []
        execution.status = S.NOT_STARTED
        return transitions.start_execution(execution, now)

    return transition
