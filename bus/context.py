"""What a handler knows about the message it handles, and how it sends follow-up messages.

Messages sent through the context carry the same correlation id and name the handled message as
their cause, so one user action can be followed end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bus.envelope import Envelope
from schemas import Command, Event, Message, Query, Reply


class Sender(Protocol):
    """The sending half of :class:`bus.base.Bus`, which every bus is: what a handler may do with it.

    A protocol rather than ``Bus`` itself, because the bus hands contexts to the handlers of the
    endpoints it consumes: the context must not depend on the bus that depends on it.
    """

    def envelope(
        self, message: Message, *, subject: str | None = None, caused_by: Envelope | None = None
    ) -> Envelope: ...

    async def send_envelope(self, envelope: Envelope, *, to: str) -> None: ...

    async def publish_envelope(self, envelope: Envelope, *, routing_key: str) -> None: ...

    async def send(
        self, command: Command, *, to: str | None = None, subject: str | None = None, caused_by: Envelope | None = None
    ) -> Envelope: ...

    async def publish(
        self, event: Event, *, subject: str | None = None, caused_by: Envelope | None = None
    ) -> Envelope: ...

    async def ask(
        self, query: Query, *, timeout: float = 5.0, to: str | None = None, caused_by: Envelope | None = None
    ) -> Reply: ...


@dataclass(frozen=True, slots=True)
class MessageContext:
    """The envelope being handled, its attempt number, and the bus to answer on.

    ``external`` is True when the message came from outside (the external exchange, ``POST /events``):
    the broker's say, never the publisher's. Only foreign and :class:`~schemas.ExternalEvent` types
    reach a handler so; an internal type from outside is dead-lettered before any handler runs.
    """

    envelope: Envelope
    attempt: int
    redelivered: bool
    service: str
    bus: Sender
    external: bool = False

    async def send(self, command: Command, *, to: str | None = None, subject: str | None = None) -> Envelope:
        """Send a command caused by the message being handled."""
        return await self.bus.send(command, to=to, subject=subject or self.envelope.subject, caused_by=self.envelope)

    async def publish(self, event: Event, *, subject: str | None = None) -> Envelope:
        """Publish an event caused by the message being handled."""
        return await self.bus.publish(event, subject=subject or self.envelope.subject, caused_by=self.envelope)

    async def ask(self, query: Query, *, timeout: float = 5.0, to: str | None = None) -> Reply:
        """Ask a query on behalf of the message being handled."""
        return await self.bus.ask(query, timeout=timeout, to=to, caused_by=self.envelope)
