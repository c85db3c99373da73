"""Delivers an execution's outbox: the messages its stored changes caused.

Each entry is sent (a command to its service), published (an event) or stored as a durable
timer (an entry with ``due_at`` in the future), then pulled from the outbox. A crash before the
pull leaves the entry there; whoever next handles the execution delivers it, and so does the
:meth:`OutboxRelay.run` loop, which at start-up and then periodically delivers entries older than
``grace_ms`` (younger ones are most likely being delivered by the handler that wrote them).
"""

from __future__ import annotations

from collections.abc import Collection

import structlog

from bus import Bus, Envelope
from workers.orca.engine.loop import every
from workers.orca.engine.model import Execution, OutboxEntry, now_ms
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.timers import TimerStore

log = structlog.get_logger("gennaker.orca.outbox")


class OutboxRelay:
    """Sends outbox entries and removes them once sent."""

    def __init__(
        self, store: ExecutionStore, timers: TimerStore, *, interval: float = 5.0, grace_ms: int = 5_000
    ) -> None:
        self.store = store
        self.timers = timers
        self.interval = interval
        self.grace_ms = grace_ms

    async def deliver(self, bus: Bus, execution: Execution, *, own: Collection[str] = ()) -> None:
        """Deliver, in order, the entries ``own`` (just written by the caller) and every entry older
        than the grace period (abandoned by a crash), then remove them from the outbox.

        Younger entries written by someone else are left to their writer, which is delivering them
        now: so neither a concurrent transition nor a duplicate message delivers them twice.
        """
        cutoff = now_ms() - self.grace_ms
        entries = [entry for entry in execution.outbox if entry.id in own or entry.created_at <= cutoff]
        if not entries:
            return
        delivered: list[str] = []
        try:
            for entry in entries:
                await self._deliver_one(bus, execution.id, entry)
                delivered.append(entry.id)
        finally:
            if delivered:
                await self.store.delivered(execution.id, delivered)
                execution.outbox = [entry for entry in execution.outbox if entry.id not in delivered]

    async def _deliver_one(self, bus: Bus, execution_id: str, entry: OutboxEntry) -> None:
        if entry.due_at is not None and entry.due_at > now_ms():
            await self.timers.schedule(execution_id, entry)
            return
        envelope = Envelope.model_validate(entry.envelope)
        if entry.routing_key is not None:
            await bus.publish_envelope(envelope, routing_key=entry.routing_key)
        elif entry.to is not None:
            await bus.send_envelope(envelope, to=entry.to)

    async def redeliver(self, bus: Bus) -> int:
        """Deliver every outbox entry older than the grace period; returns how many executions had some."""
        count = 0
        while stuck := await self.store.with_pending_outbox(now_ms() - self.grace_ms):
            for execution in stuck:
                log.warning("delivering a stale outbox", execution_id=execution.id, entries=len(execution.outbox))
                await self.deliver(bus, execution)
            count += len(stuck)
        return count

    async def run(self, bus: Bus) -> None:
        """Redeliver at start-up and every ``interval`` seconds, until cancelled."""
        await every(self.interval, lambda: self.redeliver(bus), name="outbox redelivery", prepare=self.store.prepare)
