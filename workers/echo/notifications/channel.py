"""The one seam between Echo's notifications and the systems that carry them: :class:`NotificationChannel`.

Each ``type`` of Spinnaker notification (email, slack, microsoftteams, googlechat, webhook) is one
adapter. A delivery that may succeed later raises :class:`DeliveryFailed` (the bus retries it with
backoff, then dead-letters it); one that never will (an unknown Slack channel, a 404 webhook) raises
:class:`~bus.errors.PermanentError` and is dead-lettered at once.
"""

from __future__ import annotations

from typing import Any, Protocol

import aiohttp

from bus import PermanentError
from schemas.echo_notifications import Notification


class DeliveryFailed(Exception):
    """The channel could not deliver now (connection refused, 429, 5xx); the message says why."""


class NotificationChannel(Protocol):
    """Delivers a rendered :class:`Notification` to one ``address`` of its kind."""

    type: str

    async def send(self, address: str, notification: Notification) -> None:
        """Deliver once; raise :class:`DeliveryFailed` or ``PermanentError`` when it did not go out."""
        ...


async def post_json(session: aiohttp.ClientSession, url: str, payload: Any, *, timeout: float, what: str) -> bytes:
    """POST ``payload`` as JSON; 2xx returns the body, 429/5xx/connection errors raise ``DeliveryFailed``,
    any other status ``PermanentError``."""
    try:
        async with session.post(url, json=payload, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            body = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise DeliveryFailed(f"{what} unreachable: {type(error).__name__}: {error}") from error
    excerpt = body[:300].decode(errors="replace")
    if status == 429 or status >= 500:
        raise DeliveryFailed(f"{what} answered HTTP {status}: {excerpt}")
    if not 200 <= status < 300:
        raise PermanentError(f"{what} refused the notification with HTTP {status}: {excerpt}")
    return body
