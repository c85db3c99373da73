"""The in-process twin of a sink: what the contract suite and tests run beside the real adapters.

It keeps the events it was sent by id (a repeat is stored once, as Elasticsearch stores a document
id once), and while :attr:`MemorySink.outage` is set it raises
:class:`~workers.echo.sinks.outcome.SinkUnavailable` as a real sink does when its system is away.
"""

from __future__ import annotations

from collections.abc import Sequence

from bus import Envelope
from gennaker.outbound import OutboundClient
from workers.echo.sinks.outcome import DELIVERED, Outcome, SinkUnavailable


class MemorySink:
    """A :class:`~workers.echo.sinks.base.Sink` that stores events in a dict, for tests."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outage = False
        self.events: dict[str, Envelope] = {}
        """Every event delivered, by its CloudEvent id."""

    async def send(self, session: OutboundClient, events: Sequence[Envelope]) -> list[Outcome]:
        """Store ``events`` (each id once); :class:`SinkUnavailable` during an outage."""
        if self.outage:
            raise SinkUnavailable(f"sink {self.name} is in an outage")
        for envelope in events:
            self.events.setdefault(envelope.id, envelope)
        return [DELIVERED for _ in events]
