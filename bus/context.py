"""What a handler knows about the message it handles, and how it sends follow-up messages.

Messages sent through the context carry the same correlation id and name the handled message as
their cause, so one user action can be followed end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bus.envelope import Envelope
from schemas import Command, Event, Query, Reply

if TYPE_CHECKING:
    from bus.base import Bus


@dataclass(frozen=True)
class MessageContext:
    """The envelope being handled, its attempt number, and the bus to answer on."""

    envelope: Envelope
    attempt: int
    redelivered: bool
    service: str
    bus: Bus

    async def send(self, command: Command, *, to: str | None = None, subject: str | None = None) -> Envelope:
        """Send a command caused by the message being handled."""
        return await self.bus.send(command, to=to, subject=subject or self.envelope.subject, caused_by=self.envelope)

    async def publish(self, event: Event, *, subject: str | None = None) -> Envelope:
        """Publish an event caused by the message being handled."""
        return await self.bus.publish(event, subject=subject or self.envelope.subject, caused_by=self.envelope)

    async def ask(self, query: Query, *, timeout: float = 5.0, to: str | None = None) -> Reply:
        """Ask a query on behalf of the message being handled."""
        return await self.bus.ask(query, timeout=timeout, to=to, caused_by=self.envelope)
