"""The one HTTP call every sink makes: POST, read the answer, turn a whole-request failure into an outcome.

A status that waiting may cure raises :class:`SinkUnavailable`; any other non-2xx refuses the whole
request for good (its events are dead-lettered with the answer as the reason). Every request carries
an ``Idempotency-Key`` derived from the events it carries (:func:`events_key`), so the same events
sent again after a failure carry the same key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp

from bus import Envelope
from gennaker.outbound import OutboundClient
from schemas import idempotency
from workers.echo.sinks.outcome import SinkUnavailable, transient

EXCERPT = 300


@dataclass(frozen=True)
class Answer:
    """A sink's HTTP answer: status and body."""

    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def excerpt(self) -> str:
        return self.body[:EXCERPT].decode(errors="replace")


def events_key(sink: str, events: Sequence[Envelope]) -> str:
    """The ``Idempotency-Key`` of a request of sink ``sink`` carrying ``events`` (each named by its
    CloudEvents ``source`` and ``id``): the same whenever the same events are sent again."""
    return idempotency.derive("echo.sink", sink, *(f"{envelope.source}\x1e{envelope.id}" for envelope in events))


async def post(
    session: OutboundClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    what: str,
    idempotency_key: str,
) -> Answer:
    """POST ``body`` with ``idempotency_key``; raise :class:`SinkUnavailable` for a status worth retrying,
    else return the answer."""
    sent = {**headers, idempotency.HEADER: idempotency.header_value(idempotency_key)}
    async with session.post(url, data=body, headers=sent, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        answer = Answer(response.status, await response.read())
    if transient(answer.status):
        raise SinkUnavailable(f"{what} answered HTTP {answer.status}: {answer.excerpt()}")
    return answer
