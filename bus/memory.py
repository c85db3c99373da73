"""An in-process bus with RabbitMQ's routing, acknowledgement, retry and dead-letter semantics.

``gennaker up`` runs on it by default and tests use it for speed; the contract suite holds it to
the same behaviour as :class:`bus.amqp.AmqpBus`. Nothing survives the process: durability is the
AMQP bus's promise, not this one's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from bus.base import Bus, Consumption
from bus.dead_letter import DeadLetter, DeadLetterArchive, KeptInMemory
from bus.dispatch import Verdict, dead_reply, dispatch
from bus.endpoint import COMMANDS_EXCHANGE, EVENTS_EXCHANGE, Endpoint, private_queue_name, queue_name
from bus.envelope import Envelope, new_id
from bus.errors import BusClosed, QueryTimeout
from bus.overflow import QueueFull, refused
from bus.retry import RetryPolicy
from bus.topic import topic_matches
from schemas import Query

log = structlog.get_logger("gennaker.bus.memory")


@dataclass
class _Delivery:
    body: bytes
    attempt: int = 1
    redelivered: bool = False
    reply_to: Callable[[bytes], None] | None = None
    """Takes the reply envelope's body: the asker decodes its own copy, so it shares no object with the handler."""
    expires_at: float | None = None
    external: bool = False
    """Published from outside (:meth:`MemoryBus.publish_external`): what RabbitMQ's delivery exchange says."""


class _MemoryQueue:
    """A FIFO of deliveries that competing consumers take from one at a time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._items: deque[_Delivery] = deque()
        self._ready = asyncio.Condition()
        self.max_length: int | None = None
        """Set by a bounded endpoint: a full queue refuses new messages (``reject-publish``)."""

    def __len__(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        """True when a bounded queue holds ``max_length`` ready messages."""
        return self.max_length is not None and len(self._items) >= self.max_length

    async def put(self, delivery: _Delivery, *, front: bool = False) -> None:
        async with self._ready:
            if front:
                self._items.appendleft(delivery)
            else:
                self._items.append(delivery)
            self._ready.notify()

    async def get(self) -> _Delivery:
        async with self._ready:
            await self._ready.wait_for(lambda: bool(self._items))
            return self._items.popleft()


class MemoryConsumption(Consumption):
    """``prefetch`` workers taking deliveries from one queue; ``abort`` simulates a crash."""

    def __init__(self, bus: MemoryBus, endpoint: Endpoint, queue: _MemoryQueue) -> None:
        self._bus = bus
        self.endpoint = endpoint
        self.queue = queue
        self._in_flight: dict[asyncio.Task[None], _Delivery | None] = {}
        self._stopping = False
        for _ in range(endpoint.prefetch):
            task = asyncio.create_task(self._work(), name=f"consume {queue.name}")
            self._in_flight[task] = None

    async def _work(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        while not self._stopping:
            delivery = await self.queue.get()
            if delivery.expires_at is not None and asyncio.get_running_loop().time() > delivery.expires_at:
                continue
            self._in_flight[task] = delivery
            verdict = await dispatch(
                self.endpoint,
                delivery.body,
                attempt=delivery.attempt,
                redelivered=delivery.redelivered,
                bus=self._bus,
                retry=self._bus.retry,
                external=delivery.external,
            )
            self._in_flight[task] = None
            await self._bus._settle(self.queue, delivery, verdict, self.endpoint.service)

    async def stop(self, *, grace: float | None = None) -> None:
        self._stopping = True
        idle = [task for task, delivery in self._in_flight.items() if delivery is None]
        for task in idle:
            task.cancel()
        busy = [task for task in self._in_flight if task not in idle]
        if busy:
            await asyncio.wait(busy, timeout=grace)
        await self._give_back_unfinished()
        self._bus._detach(self)

    async def abort(self) -> None:
        """Die without acknowledging: whatever was in flight goes back to the queue, redelivered."""
        self._stopping = True
        await self._give_back_unfinished()
        self._bus._detach(self)

    async def _give_back_unfinished(self) -> None:
        """Cancel every worker; a delivery whose handler had not returned goes back to the queue's front."""
        unacked = [delivery for delivery in self._in_flight.values() if delivery is not None]
        for task in self._in_flight:
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        for delivery in reversed(unacked):
            delivery.redelivered = True
            await self.queue.put(delivery, front=True)


class MemoryBus(Bus):
    """The :class:`Bus` in one process: queues are deques, exchanges are routing tables."""

    def __init__(
        self,
        *,
        source: str = "/gennaker",
        retry: RetryPolicy | None = None,
        dead_letters: DeadLetterArchive | None = None,
    ) -> None:
        """``dead_letters`` keeps what is dead-lettered (default: in memory, gone with the process)."""
        super().__init__(source=source, retry=retry)
        self._queues: dict[str, _MemoryQueue] = {}
        self._event_bindings: dict[str, tuple[str, ...]] = {}
        self._consumptions: list[MemoryConsumption] = []
        self._dead: DeadLetterArchive = dead_letters or KeptInMemory()
        self._timers: set[asyncio.TimerHandle] = set()
        self._requeues: set[asyncio.Task[None]] = set()
        self._closed = False

    def _queue(self, name: str) -> _MemoryQueue:
        if self._closed:
            raise BusClosed("the memory bus is closed")
        if name not in self._queues:
            self._queues[name] = _MemoryQueue(name)
        return self._queues[name]

    async def send_envelope(self, envelope: Envelope, *, to: str) -> None:
        queue = self._queue(queue_name(to, "commands"))
        if queue.full:
            refused(COMMANDS_EXCHANGE, to, queue=queue.name)
            raise QueueFull(f"queue {queue.name} is full; the command was not stored")
        await queue.put(_Delivery(envelope.to_bytes()))

    async def publish_envelope(self, envelope: Envelope, *, routing_key: str) -> None:
        await self.publish_raw(envelope.to_bytes(), routing_key=routing_key)

    async def publish_raw(self, body: bytes, *, routing_key: str) -> None:
        """Route any bytes as an event, as a foreign AMQP publisher could."""
        await self._route_event(_Delivery(body), routing_key)

    async def publish_external(self, body: bytes, *, routing_key: str) -> None:
        """Route any bytes as an event from outside: every consumer sees it as external."""
        await self._route_event(_Delivery(body, external=True), routing_key)

    async def _route_event(self, delivery: _Delivery, routing_key: str) -> None:
        for bound, patterns in list(self._event_bindings.items()):
            if any(topic_matches(pattern, routing_key) for pattern in patterns):
                queue = self._queue(bound)
                if queue.full:
                    refused(EVENTS_EXCHANGE, routing_key, queue=bound)
                    continue
                await queue.put(_Delivery(delivery.body, external=delivery.external))

    async def put_raw(self, queue: str, body: bytes) -> None:
        """Put any bytes straight onto a queue, as a foreign publisher using the default exchange."""
        target = self._queue(queue)
        if target.full:
            refused("", queue, queue=queue)
            raise QueueFull(f"queue {queue} is full; the message was not stored")
        await target.put(_Delivery(body))

    async def _ask_for_body(self, envelope: Envelope, query: Query, *, timeout: float, to: str | None) -> bytes:
        service = to or query.owner()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()

        def reply(body: bytes) -> None:
            if not answer.done():
                answer.set_result(body)

        delivery = _Delivery(envelope.to_bytes(), reply_to=reply, expires_at=loop.time() + timeout)
        await self._queue(queue_name(service, "queries")).put(delivery)
        try:
            reply_body = await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise QueryTimeout.waiting_for(query.message_type, service, timeout) from None
        return reply_body

    async def consume(self, endpoint: Endpoint) -> MemoryConsumption:
        name = endpoint.queue if endpoint.durable else private_queue_name()
        queue = self._queue(name)
        if endpoint.max_length is not None:
            queue.max_length = endpoint.max_length
        if endpoint.kind == "events":
            self._event_bindings[name] = endpoint.patterns
        consumption = MemoryConsumption(self, endpoint, queue)
        self._consumptions.append(consumption)
        return consumption

    def _detach(self, consumption: MemoryConsumption) -> None:
        with contextlib.suppress(ValueError):
            self._consumptions.remove(consumption)
        if not consumption.endpoint.durable:
            self._event_bindings.pop(consumption.queue.name, None)
            self._queues.pop(consumption.queue.name, None)

    async def _settle(self, queue: _MemoryQueue, delivery: _Delivery, verdict: Verdict, service: str) -> None:
        if delivery.reply_to is not None:
            if verdict.reply is not None:
                delivery.reply_to(verdict.reply)
            elif verdict.action == "dead":
                delivery.reply_to(dead_reply(verdict, service))
        if verdict.action == "retry":
            retried = _Delivery(delivery.body, attempt=delivery.attempt + 1, external=delivery.external)
            self._requeue_later(queue, retried, verdict.delay_ms)
        elif verdict.action == "dead":
            letter = DeadLetter(
                id=verdict.message_id or new_id(),
                queue=queue.name,
                reason=verdict.reason or "unknown",
                traceback=verdict.traceback,
                dead_at=datetime.now(UTC),
                attempts=delivery.attempt,
                body=delivery.body,
                external=delivery.external,
            )
            try:
                await self._dead.keep(letter)
            except Exception as error:  # the archive's store is away: the message waits, it is not lost
                log.warning(
                    "could not keep a dead letter; it is delivered again later", queue=queue.name, error=str(error)
                )
                self._requeue_later(queue, delivery, 1000)

    def _requeue_later(self, queue: _MemoryQueue, delivery: _Delivery, delay_ms: int) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def requeue() -> None:
            self._timers.discard(handle)
            if not self._closed:
                task = loop.create_task(queue.put(delivery))
                self._requeues.add(task)
                task.add_done_callback(self._requeues.discard)

        handle = loop.call_later(delay_ms / 1000, requeue)
        self._timers.add(handle)

    async def dead_letters(self) -> list[DeadLetter]:
        return await self._dead.letters()

    async def replay(self, ids: Sequence[str] | None = None) -> int:
        chosen = [letter for letter in await self._dead.letters() if ids is None or letter.id in ids]
        for letter in chosen:
            await self._queue(letter.queue).put(_Delivery(letter.body, external=letter.external))
            await self._dead.forget([letter])  # after it is queued again: a crash between replays it twice
        return len(chosen)

    def depth(self, queue: str) -> int:
        """Messages waiting in ``queue`` (for tests and the gateway's diagnostics)."""
        return len(self._queues[queue]) if queue in self._queues else 0

    async def close(self) -> None:
        if self._closed:
            return
        for consumption in list(self._consumptions):
            await consumption.stop()
        for handle in self._timers:
            handle.cancel()
        self._closed = True
