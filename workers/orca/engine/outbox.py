"""Delivers an execution's outbox: the messages its stored changes caused.

Each entry is sent (a command to its service), published (an event) or stored as a durable
timer (an entry with ``due_at`` in the future), then removed from the outbox. The removal is
deferred: the next save of the execution by this process drops the delivered entries in the same
write (:meth:`OutboxRelay.take_delivered`), and :meth:`OutboxRelay.run_pulls` pulls whatever is
still pending a moment later, so delivering costs the transition no extra write. A crash before
the removal leaves the entry there; the :meth:`OutboxRelay.run` loop, at start-up and then
periodically, delivers entries older than ``grace_ms`` (younger ones are most likely being
delivered by the handler that wrote them). Delivery is at least once; every message is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Collection

import structlog

from bus import Bus, Envelope, Sender
from workers.orca.engine.loop import every
from workers.orca.engine.model import Execution, OutboxEntry, now_ms
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.timers import TimerStore

log = structlog.get_logger("gennaker.orca.outbox")


class OutboxRelay:
    """Sends outbox entries and removes them once sent."""

    def __init__(
        self,
        store: ExecutionStore,
        timers: TimerStore,
        *,
        interval: float = 5.0,
        grace_ms: int = 5_000,
        pull_interval: float = 0.2,
        sent_capacity: int = 65_536,
    ) -> None:
        self.store = store
        self.timers = timers
        self.interval = interval
        self.grace_ms = grace_ms
        self.pull_interval = pull_interval
        self._delivered: dict[str, set[str]] = {}
        self._removing: dict[str, set[str]] = {}
        self._in_flight: dict[str, set[str]] = {}
        self._sent: OrderedDict[str, None] = OrderedDict()
        self.sent_capacity = sent_capacity
        self.on_pulled: Callable[[str, set[str]], None] = lambda execution_id, ids: None

    async def deliver(
        self,
        bus: Sender,
        execution: Execution,
        *,
        own: Collection[str] = (),
        abandoned: bool = True,
        caused_by: Collection[str] = (),
    ) -> int:
        """Deliver, in order, the entries ``own`` (just written by the caller), those caused by the
        messages ``caused_by`` (handled again after its first handler died: they are nobody's now)
        and, with ``abandoned``, every entry older than the grace period (left by a crash); they
        leave ``execution.outbox`` now and the stored outbox with the next save or pull. Returns
        how many were delivered.

        Younger entries written by someone else are left to their writer, which is delivering them
        now: so neither a concurrent transition nor a duplicate message delivers them twice. Entries
        this process is delivering at this moment are never taken, however old: a slow send is not
        an abandoned one. Nor are the last ``sent_capacity`` entries this process delivered: one
        that is back in the store (a save from a copy read before its removal wrote it again) is
        only removed again.
        """
        cutoff = now_ms() - self.grace_ms
        in_flight = self._in_flight.setdefault(execution.id, set())
        done = self._delivered.get(execution.id, set()) | self._removing.get(execution.id, set()) | in_flight
        if sent_before := {entry.id for entry in execution.outbox if entry.id in self._sent and entry.id not in done}:
            self._delivered.setdefault(execution.id, set()).update(sent_before)
            execution.outbox = [entry for entry in execution.outbox if entry.id not in sent_before]
        entries = [
            entry
            for entry in execution.outbox
            if entry.id not in done
            and (
                entry.id in own
                or entry.envelope.get("causationid") in caused_by
                or (abandoned and entry.created_at <= cutoff)
            )
        ]
        if not entries:
            if not in_flight:
                del self._in_flight[execution.id]
            return 0
        claimed = {entry.id for entry in entries}
        in_flight.update(claimed)
        delivered: set[str] = set()
        try:
            for entry in entries:
                await self._deliver_one(bus, execution.id, entry)
                delivered.add(entry.id)
                self._remember_sent(entry.id)
        finally:
            in_flight.difference_update(claimed)
            if not in_flight:
                self._in_flight.pop(execution.id, None)
            if delivered:
                self._delivered.setdefault(execution.id, set()).update(delivered)
                execution.outbox = [entry for entry in execution.outbox if entry.id not in delivered]
        return len(delivered)

    def _remember_sent(self, entry_id: str) -> None:
        self._sent[entry_id] = None
        if len(self._sent) > self.sent_capacity:
            self._sent.popitem(last=False)

    def take_delivered(self, execution_id: str) -> set[str]:
        """The delivered entries of ``execution_id`` not yet removed from the store, for the
        caller's save to remove; then :meth:`removed` (saved) or :meth:`give_back` (save failed)."""
        entry_ids = self._delivered.pop(execution_id, set())
        self._hold(execution_id, entry_ids)
        return entry_ids

    def removed(self, execution_id: str, entry_ids: set[str]) -> None:
        """Entries taken with :meth:`take_delivered` are gone from the store."""
        self._release(execution_id, entry_ids)

    def give_back(self, execution_id: str, entry_ids: set[str]) -> None:
        """Entries taken with :meth:`take_delivered` whose save failed: still to be removed."""
        self._release(execution_id, entry_ids)
        if entry_ids:
            self._delivered.setdefault(execution_id, set()).update(entry_ids)

    async def pull_delivered(self) -> int:
        """Remove every delivered entry still in the store; returns how many executions had some."""
        pending, self._delivered = self._delivered, {}
        for execution_id, entry_ids in pending.items():
            self._hold(execution_id, entry_ids)
        pulled: set[str] = set()
        try:
            for execution_id, entry_ids in pending.items():
                await self.store.delivered(execution_id, sorted(entry_ids))
                self.on_pulled(execution_id, entry_ids)
                pulled.add(execution_id)
        finally:
            for execution_id, entry_ids in pending.items():
                if execution_id in pulled:
                    self.removed(execution_id, entry_ids)
                else:
                    self.give_back(execution_id, entry_ids)
        return len(pending)

    def _hold(self, execution_id: str, entry_ids: set[str]) -> None:
        """Delivered entries on their way out of the store: never delivered again meanwhile."""
        if entry_ids:
            self._removing.setdefault(execution_id, set()).update(entry_ids)

    def _release(self, execution_id: str, entry_ids: set[str]) -> None:
        left = self._removing.get(execution_id, set()) - entry_ids
        if left:
            self._removing[execution_id] = left
        else:
            self._removing.pop(execution_id, None)

    async def run_pulls(self, bus: Bus) -> None:
        """Pull delivered entries every ``pull_interval`` seconds, and once more on the way out."""
        try:
            await every(self.pull_interval, self.pull_delivered, name="outbox pulls", prepare=self.store.prepare)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.pull_delivered())

    async def _deliver_one(self, bus: Sender, execution_id: str, entry: OutboxEntry) -> None:
        if entry.due_at is not None and entry.due_at > now_ms():
            await self.timers.schedule(execution_id, entry)
            return
        envelope = Envelope.model_validate(entry.envelope)
        if entry.routing_key is not None:
            await bus.publish_envelope(envelope, routing_key=entry.routing_key)
        elif entry.to is not None:
            await bus.send_envelope(envelope, to=entry.to)

    async def redeliver(self, bus: Bus) -> int:
        """Deliver every outbox entry older than the grace period; returns how many executions had some.

        Each execution is looked at once per sweep: one whose old entries this process is removing
        right now (a save under way on a slow store) is left to that save, not queried again and
        again until it lands.
        """
        count = 0
        after: str | None = None
        await self.pull_delivered()  # what this process delivered is not stale
        while stuck := await self.store.with_pending_outbox(now_ms() - self.grace_ms, after=after):
            for execution in stuck:
                if delivered := await self.deliver(bus, execution):
                    log.warning("delivered a stale outbox", execution_id=execution.id, entries=delivered)
                    count += 1
            after = stuck[-1].id
            await self.pull_delivered()
        return count

    async def run(self, bus: Bus) -> None:
        """Redeliver at start-up and every ``interval`` seconds, until cancelled."""
        await every(self.interval, lambda: self.redeliver(bus), name="outbox redelivery", prepare=self.store.prepare)
