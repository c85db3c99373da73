"""The one HTTP call every sink makes: POST, read the answer, turn a whole-request failure into an outcome.

A status that waiting may cure raises :class:`SinkUnavailable`; any other non-2xx refuses the whole
request for good (its events are dead-lettered with the answer as the reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

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


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    what: str,
) -> Answer:
    """POST ``body``; raise :class:`SinkUnavailable` for a status worth retrying, else return the answer."""
    async with session.post(
        url, data=body, headers=dict(headers), timeout=aiohttp.ClientTimeout(total=timeout)
    ) as response:
        answer = Answer(response.status, await response.read())
    if transient(answer.status):
        raise SinkUnavailable(f"{what} answered HTTP {answer.status}: {answer.excerpt()}")
    return answer
