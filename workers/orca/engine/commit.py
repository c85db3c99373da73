"""Applies one transition to a stored execution: load, transition, store with its outbox, deliver.

Every engine handler goes through :meth:`Commit.apply`, so a crash anywhere loses nothing (the
transitions of one execution that arrive while this process is storing it wait and are then
stored together, in arrival order, in one write: see :class:`_Pending`):

1. load the execution (from :class:`ExecutionCache` when this process wrote it last) and apply
   the transition (:mod:`workers.orca.engine.transitions`), then the transitions it causes that
   need no waiting (:mod:`workers.orca.engine.settle`);
2. if it changed, store what changed (against the state loaded, so one stage of a long pipeline,
   not the whole execution) and the messages it causes in one compare-and-set write (on a
   conflict, reload and apply again);
3. deliver the outbox (:mod:`workers.orca.engine.outbox`) — including entries an earlier, crashed
   attempt left behind.

Step 3 delivers the entries this transition wrote, plus any old enough to have been abandoned by
a crash; younger entries of other transitions are being delivered by their writers. So a
redelivered message (whose transition already happened: step 2 writes nothing) and a concurrent
transition deliver nothing twice, and the relay's periodic sweep catches what a crash left.
A message handled again after its first handler died or failed (``redelivered``) also delivers at
once the entries that first handler stored, however young: nobody else is delivering them, and
waiting for the sweep made, for instance, an execution stored by an Orca killed before announcing
it start ten seconds late.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from opentelemetry import trace

from bus import Envelope, Sender
from schemas.base import Command
from workers.orca.engine.execution_cache import ExecutionCache
from workers.orca.engine.model import Execution, OutboxEntry, now_ms
from workers.orca.engine.next_check import next_check
from workers.orca.engine.outbox import OutboxRelay
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.store import CHECK_AFTER, ExecutionStore, StaleExecution, state

log = structlog.get_logger("gennaker.orca.engine")

Transition = Callable[[Execution, int], list[Outgoing]]
MAX_CONFLICTS = 16


@dataclass(frozen=True)
class _Pending:
    """A transition waiting to be stored, and the future its caller awaits.

    While a write of an execution is under way, later transitions of it in this process queue up
    behind it and are applied together to the copy it stored, in one write: a fan-out of 500
    parallel stages is then a handful of writes instead of 500 handlers racing on one
    compare-and-set (each retry a read and a write of the whole document), which stalled every
    other execution queued behind them. Each is the very transition its handler would have applied
    alone, in the order they arrived, so the stored result is the one a sequential delivery
    would have stored; each message is acknowledged only once the write holding it succeeded.
    """

    transition: Transition
    bus: Sender
    caused_by: Envelope | None
    redelivered: bool
    done: asyncio.Future[Execution | None]
    span: trace.Span = field(default_factory=trace.get_current_span)
    """The caller's span: its transition, settled steps and messages belong to the caller's trace."""


class _TransitionFailed(Exception):
    """One transition of a batch raised: the batch is applied again one transition at a time."""


class Commit:
    """Runs transitions against the store and delivers what they cause."""

    def __init__(
        self,
        store: ExecutionStore,
        relay: OutboxRelay,
        *,
        stall_ms: int,
        cache: ExecutionCache | None = None,
        settle: Callable[[Execution, list[Outgoing]], list[Outgoing]] | None = None,
        max_batch: int = 256,
    ) -> None:
        self.store = store
        self.settle = settle
        self.relay = relay
        self.stall_ms = stall_ms
        self.cache = cache or ExecutionCache()
        self.max_batch = max_batch
        self._waiting: dict[str, list[_Pending]] = {}
        self._draining: set[asyncio.Task[None]] = set()
        relay.on_pulled = self.cache.forget_entries

    async def apply(
        self,
        execution_id: str,
        transition: Transition,
        bus: Sender,
        *,
        caused_by: Envelope | None,
        redelivered: bool = False,
    ) -> Execution | None:
        """Apply ``transition`` to execution ``execution_id``; ``None`` when it does not exist.

        The messages it causes are built on ``bus`` as caused by ``caused_by`` (the message being
        handled; ``None`` for the reconciler's own re-drives). ``redelivered`` says ``caused_by`` is
        being handled again after a handler of it died or failed.

        Transitions of one execution that arrive while another is being stored by this process
        wait for it and are then stored together, in the order they arrived (see
        :class:`_Pending`): it returns once the write holding this transition succeeded.
        """
        pending = _Pending(transition, bus, caused_by, redelivered, asyncio.get_running_loop().create_future())
        queue = self._waiting.setdefault(execution_id, [])
        queue.append(pending)
        if len(queue) == 1:
            drain = asyncio.get_running_loop().create_task(self._drain(execution_id))
            self._draining.add(drain)
            drain.add_done_callback(self._draining.discard)
        return await asyncio.shield(pending.done)  # a caller that stops waiting leaves the batch be

    async def _drain(self, execution_id: str) -> None:
        """Store the transitions waiting for ``execution_id``, a batch at a time, until none wait."""
        queue = self._waiting[execution_id]
        try:
            while queue:
                batch = queue[: self.max_batch]
                try:
                    await self._apply_batch(execution_id, batch)
                except _TransitionFailed:
                    for one in batch:  # one of them failed: apply each alone, so only that one fails
                        await self._settle_one(execution_id, one)
                except Exception as error:
                    for one in batch:
                        if not one.done.done():
                            one.done.set_exception(error)
                del queue[: len(batch)]
        finally:
            for one in queue:  # left only when this task itself was cancelled
                if not one.done.done():
                    one.done.set_exception(StaleExecution(f"stopped storing execution {execution_id}; retrying"))
            del self._waiting[execution_id]

    async def _settle_one(self, execution_id: str, one: _Pending) -> None:
        try:
            await self._apply_batch(execution_id, [one])
        except Exception as error:
            if not one.done.done():
                one.done.set_exception(error)

    async def _apply_batch(self, execution_id: str, batch: list[_Pending]) -> None:
        """Apply ``batch`` in order to one copy of the execution and store it in one write; resolve
        each one's future with the stored execution (or ``None`` when there is none)."""
        orphaned = {one.caused_by.id for one in batch if one.redelivered and one.caused_by is not None}
        for conflict in range(MAX_CONFLICTS):
            cached = self.cache.take(execution_id) if conflict == 0 else None
            execution = cached or await self.store.get(execution_id)
            if execution is None:
                for one in batch:
                    _resolve(one.done, None)
                return
            before = state(execution)
            at = now_ms()
            caused: list[tuple[_Pending, list[Outgoing]]] = []
            for one in batch:
                try:
                    with trace.use_span(one.span):
                        outgoing = one.transition(execution, at)
                        if self.settle is not None:
                            outgoing = self.settle(execution, outgoing)
                except Exception as error:
                    if len(batch) > 1:
                        raise _TransitionFailed() from error
                    raise
                caused.append((one, outgoing))
            outgoing = [item for _, items in caused for item in items]
            entries: list[OutboxEntry] = []
            after = state(execution)
            changed = bool(outgoing) or after != before
            if not changed and cached is not None:
                continue  # nothing to do by the cached copy: make sure by the stored one
            if changed:
                execution.check_after = after[CHECK_AFTER] = next_check(execution, outgoing, at, self.stall_ms)
                entries = [
                    self._entry(item, execution, one.bus, one.caused_by, one.span, at)
                    for one, items in caused
                    for item in items
                ]
                delivered = self.relay.take_delivered(execution.id)
                execution.outbox = [entry for entry in execution.outbox if entry.id not in delivered]
                try:
                    await self.store.save(
                        execution, entries, replace_outbox=bool(delivered), loaded=before, current=after
                    )
                except StaleExecution:
                    self.relay.give_back(execution.id, delivered)
                    self.cache.drop(execution.id)
                    await asyncio.sleep(random.uniform(0, 0.002 * (conflict + 1)))
                    continue
                except BaseException:
                    self.relay.give_back(execution.id, delivered)
                    self.cache.drop(execution.id)
                    raise
                self.relay.removed(execution.id, delivered)
                log.debug(
                    "execution changed",
                    execution_id=execution.id,
                    status=execution.status.value,
                    transitions=len(batch),
                    caused=[item.message.message_type for item in outgoing],
                )
            await self.relay.deliver(
                batch[0].bus,
                execution,
                own={entry.id for entry in entries},
                abandoned=cached is None,
                caused_by=orphaned,
            )
            if changed and _moves_on(outgoing):
                self.cache.put(execution)
            elif changed:
                self.cache.drop(execution.id)  # parked (a timer, a judgment, an answer): no need to hold it
            for one in batch:
                _resolve(one.done, execution)
            return
        raise StaleExecution(f"gave up after {MAX_CONFLICTS} concurrent changes to execution {execution_id}; retrying")

    def _entry(
        self, item: Outgoing, execution: Execution, bus: Sender, caused_by: Envelope | None, span: trace.Span, at: int
    ) -> OutboxEntry:
        with trace.use_span(span):
            envelope = bus.envelope(item.message, subject=execution.id, caused_by=caused_by)
        if item.envelope_id is not None:
            envelope.id = item.envelope_id
        if item.message.message_kind == "event":
            return OutboxEntry(
                id=envelope.id,
                envelope=envelope.model_dump(mode="json"),
                routing_key=item.message.message_type,
                created_at=at,
            )
        return OutboxEntry(
            id=envelope.id,
            envelope=envelope.model_dump(mode="json"),
            to=item.to or item.message.owner(),
            due_at=item.due_at,
            created_at=at,
        )


def _resolve(done: asyncio.Future[Execution | None], execution: Execution | None) -> None:
    if not done.done():
        done.set_result(execution)


def _moves_on(outgoing: list[Outgoing]) -> bool:
    """The change sent a command to be handled now: the execution's next transition is imminent."""
    return any(isinstance(item.message, Command) and item.due_at is None for item in outgoing)
