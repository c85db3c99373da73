"""One endpoint consumed from RabbitMQ: deliveries dispatched, their verdicts settled, a graceful stop.

:class:`AmqpConsumption` is what :meth:`bus.amqp.AmqpBus.consume` returns. Each delivery goes to
:func:`bus.dispatch.dispatch`, and the bus's ``settle`` carries out the :class:`~bus.dispatch.Verdict`
(reply, retry or dead letter, confirmed) before the acknowledgement; if settling fails the delivery
stays unacknowledged and RabbitMQ redelivers it. An endpoint with ``ack_together`` has its
acknowledgements sent in runs (:mod:`bus.amqp_acks`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from bus.amqp_acks import TogetherAcks
from bus.amqp_errors import TRANSIENT_ERRORS
from bus.amqp_headers import attempt_of, is_external
from bus.base import Bus, Consumption
from bus.dispatch import Verdict, dispatch
from bus.endpoint import Endpoint

log = structlog.get_logger("gennaker.bus.amqp")

Settle = Callable[[str, str, AbstractIncomingMessage, Verdict], Awaitable[None]]
"""``await settle(queue, service, message, verdict)``: carry out the verdict (what it publishes confirmed);
the consumption acknowledges once it returned."""


class AmqpConsumption(Consumption):
    """One endpoint consumed on a channel of its own, with ``prefetch`` messages in flight at most."""

    def __init__(
        self,
        bus: Bus,
        endpoint: Endpoint,
        channel: AbstractChannel,
        queue: AbstractQueue,
        *,
        settle: Settle,
        stopped: Callable[[AmqpConsumption], None],
    ) -> None:
        self._bus = bus
        self.endpoint = endpoint
        self._channel = channel
        self.queue = queue
        self._settle = settle
        self._on_stopped = stopped
        self._tag: str | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._handling: set[asyncio.Task[Any]] = set()
        """The in-flight tasks whose handler has not returned yet: ``stop`` may cancel those only."""
        self._stopped = False
        self._acks = TogetherAcks() if endpoint.ack_together else None

    async def start(self) -> None:
        self._tag = await self.queue.consume(self._on_message)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if self._stopped:
            return  # arrived after stop began: left unacknowledged, the channel's close requeues it
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
            self._handling.add(task)
        if self._acks is not None:
            self._acks.take(message)
        try:
            verdict = await dispatch(
                self.endpoint,
                message.body,
                attempt=attempt_of(message),
                redelivered=bool(message.redelivered),
                bus=self._bus,
                retry=self._bus.retry,
                external=is_external(message),
            )
            if task is not None:
                self._handling.discard(task)
            await self._settle(self.queue.name, self.endpoint.service, message, verdict)
            if self._acks is not None:
                await self._acks.ack(message)
            else:
                await message.ack()
        except Exception:
            # Settling failed (the broker went away): leave the message unacknowledged so that
            # RabbitMQ redelivers it once the connection is back. Nothing is lost.
            if self._acks is not None:
                self._acks.forget(message)
            log.warning("could not settle message; it will be redelivered", queue=self.queue.name, exc_info=True)
        finally:
            if task is not None:
                self._in_flight.discard(task)
                self._handling.discard(task)

    async def stop(self, *, grace: float | None = None) -> None:
        if self._stopped:
            return
        self._stopped = True
        started = asyncio.get_running_loop().time()
        if self._tag is not None:
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await self.queue.cancel(self._tag)
        if self._in_flight and grace is not None:
            remaining = grace - (asyncio.get_running_loop().time() - started)
            await asyncio.wait(set(self._in_flight), timeout=max(remaining, 0))
            # a cancelled handler's message stays unacknowledged: closing the channel requeues it
            for task in self._handling:
                task.cancel()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            if not self.endpoint.durable:
                await self.queue.delete(if_unused=False, if_empty=False)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await self._channel.close()
        self._on_stopped(self)
