"""The ``Bus`` interface: the only seam between Gennaker's services and their transport.

Domain code depends on this class alone. :class:`bus.amqp.AmqpBus` implements it on RabbitMQ and
:class:`bus.memory.MemoryBus` in process; one contract suite (``tests/contract``) holds both to
the same behaviour.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Self

from bus import metrics, tracing
from bus.dead_letter import DeadLetter
from bus.endpoint import Endpoint
from bus.envelope import Envelope, new_id
from bus.replies import HELD, RawReply, raw_reply_or_raise, reply_or_raise
from bus.retry import RetryPolicy
from schemas import Command, Event, Message, Query, Reply


class Consumption(ABC):
    """A running consumer of one endpoint."""

    @abstractmethod
    async def stop(self, *, grace: float | None = None) -> None:
        """Stop taking new messages, wait for the handlers in flight to finish, then detach.

        With ``grace``, handlers still running after that many seconds are cancelled and their
        messages go back to the queue unacknowledged (redelivered, as after a crash) rather than
        retried: the next consumer sees each exactly once more, whatever the broker does with
        acknowledgements racing a closing channel.
        """


class Bus(ABC):
    """Send commands, publish events, ask queries, and consume endpoints.

    Delivery is at least once: a handler may see the same message twice and must be idempotent.
    A handler that raises is retried with exponential backoff (``retry``), then dead-lettered with
    the reason and traceback; a message that cannot be decoded or validated is dead-lettered at
    once. The consumer keeps consuming either way.
    """

    def __init__(self, *, source: str = "/gennaker", retry: RetryPolicy | None = None) -> None:
        self.source = source
        self.retry = retry or RetryPolicy()
        self.interruptions = 0
        """How many times the connection to the broker was lost so far (never, in process)."""

    def outage(self) -> str | None:
        """Why the broker cannot be reached right now, in words; ``None`` while it can."""
        return None

    def envelope(self, message: Message, *, subject: str | None = None, caused_by: Envelope | None = None) -> Envelope:
        """Wrap ``message`` in a CloudEvent: correlation from ``caused_by``, trace from the current span."""
        message_id = new_id()
        envelope = Envelope(
            id=message_id,
            source=self.source,
            type=message.cloudevent_type(),
            subject=subject,
            data=message.model_dump(mode="json"),
            # a message nothing caused starts a new user action: its own id names that action
            correlationid=caused_by.correlationid if caused_by else message_id,
            causationid=caused_by.id if caused_by else None,
            traceparent=tracing.traceparent_for(caused_by.traceparent if caused_by else None),
        )
        metrics.sent(message.message_kind, message.message_type).inc()
        return envelope

    async def send(
        self,
        command: Command,
        *,
        to: str | None = None,
        subject: str | None = None,
        caused_by: Envelope | None = None,
    ) -> Envelope:
        """Route ``command`` to exactly one consumer of service ``to`` (default: its owner).

        Returns once the broker has confirmed the message is stored.
        """
        envelope = self.envelope(command, subject=subject, caused_by=caused_by)
        await self.send_envelope(envelope, to=to or command.owner())
        return envelope

    async def publish(self, event: Event, *, subject: str | None = None, caused_by: Envelope | None = None) -> Envelope:
        """Publish ``event`` under its type name as routing key; returns once confirmed."""
        envelope = self.envelope(event, subject=subject, caused_by=caused_by)
        await self.publish_envelope(envelope, routing_key=event.message_type)
        return envelope

    @abstractmethod
    async def send_envelope(self, envelope: Envelope, *, to: str) -> None:
        """Send an already built command envelope to service ``to``."""

    @abstractmethod
    async def publish_envelope(self, envelope: Envelope, *, routing_key: str) -> None:
        """Publish an already built event envelope, e.g. one that came from another system."""

    @abstractmethod
    async def publish_raw(self, body: bytes, *, routing_key: str) -> None:
        """Publish any bytes to the events exchange, as a foreign AMQP client could."""

    @abstractmethod
    async def publish_external(self, body: bytes, *, routing_key: str) -> None:
        """Publish any bytes as an outside system does: to the external exchange, on to every event
        queue whose patterns match, marked for each consumer as external by the transport itself.

        An internal type (:func:`schemas.trust.is_internal`) published so is dead-lettered by every
        consumer, with the reason, unread; foreign CloudEvents and external events are handled.
        The gateway publishes ``POST /events`` so, on behalf of its caller.
        """

    @abstractmethod
    async def put_raw(self, queue: str, body: bytes) -> None:
        """Put any bytes straight onto ``queue``, as a foreign client using the default exchange could."""

    async def ask(
        self,
        query: Query,
        *,
        timeout: float = 5.0,
        to: str | None = None,
        caused_by: Envelope | None = None,
    ) -> Reply:
        """Send ``query`` to service ``to`` and wait for its reply.

        Raises :class:`bus.errors.QueryTimeout` after ``timeout`` seconds without one, and
        :class:`bus.errors.QueryFailed` when the service answered with an error.
        """
        envelope = self.envelope(query, caused_by=caused_by)
        return reply_or_raise(await self._ask_for_body(envelope, query, timeout=timeout, to=to), query)

    async def ask_raw(
        self,
        query: Query,
        *,
        timeout: float = 5.0,
        to: str | None = None,
        caused_by: Envelope | None = None,
        known: RawReply | None = None,
    ) -> RawReply:
        """:meth:`ask`, answered with the reply's JSON as its replier wrote it instead of the decoded model.

        For a caller that relays the reply (the gateway answering HTTP with it): the reply is
        neither decoded nor validated, only its type is checked (:mod:`bus.replies`). Raises as
        :meth:`ask` does. With ``known`` (an earlier answer to the same query carrying a
        :attr:`~RawReply.tag`), a replier whose answer is still that one sends no data, and
        ``known`` itself is returned: the service still answers (and checks) every query, only
        the bytes the asker holds do not travel again.
        """
        envelope = self.envelope(query, caused_by=caused_by)
        if known is not None and known.tag is not None:
            setattr(envelope, HELD, known.tag)
        body = await self._ask_for_body(envelope, query, timeout=timeout, to=to)
        return raw_reply_or_raise(body, query, known)

    @abstractmethod
    async def _ask_for_body(self, envelope: Envelope, query: Query, *, timeout: float, to: str | None) -> bytes:
        """Send ``query`` in ``envelope`` to service ``to`` (default: its owner) and return its reply
        envelope's body, undecoded; raise :class:`bus.errors.QueryTimeout` after ``timeout`` seconds without one."""

    @abstractmethod
    async def consume(self, endpoint: Endpoint) -> Consumption:
        """Declare ``endpoint``'s queue and bindings and start handling its messages."""

    @abstractmethod
    async def dead_letters(self) -> list[DeadLetter]:
        """Every dead-lettered message, oldest first, without removing any."""

    @abstractmethod
    async def replay(self, ids: Sequence[str] | None = None) -> int:
        """Put dead letters (all when ``ids`` is None) back on the queue they failed on.

        Returns how many were replayed; they leave the dead-letter queue.
        """

    @abstractmethod
    async def close(self) -> None:
        """Stop every consumption gracefully, then release the transport."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
