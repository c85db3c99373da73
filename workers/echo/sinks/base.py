"""The one seam between Echo's event fan-out and an outside system: :class:`Sink`.

Each kind (Elasticsearch, Splunk HEC, REST) is one adapter; batching, retries and acknowledgement
live in :mod:`workers.echo.sinks.batcher` and never see HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bus import Envelope
from gennaker.outbound import OutboundClient
from workers.echo.sinks.outcome import Outcome


class Sink(Protocol):
    """Delivers batches of CloudEvents to one outside system.

    ``send`` returns one :class:`Outcome` per event, in order, or raises
    :class:`~workers.echo.sinks.outcome.SinkUnavailable` when the whole request failed in a way
    waiting may cure. Sending the same events again must not duplicate them where the outside
    system allows it (Elasticsearch: the event id is the document id).
    """

    name: str

    async def send(self, session: OutboundClient, events: Sequence[Envelope]) -> list[Outcome]:
        """Deliver ``events`` in one go (or as few requests as the system needs)."""
        ...
