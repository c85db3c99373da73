"""The one seam between Echo's notifications and the systems that carry them: :class:`NotificationChannel`.

Each ``type`` of Spinnaker notification (email, slack, microsoftteams, googlechat, webhook) is one
adapter. A delivery that may succeed later raises :class:`DeliveryFailed` (the bus retries it with
backoff, then dead-letters it); one that never will (an unknown Slack channel, a 404 webhook) raises
:class:`~bus.errors.PermanentError` and is dead-lettered at once.

Every delivery carries an ``idempotency_key`` derived from its delivery id (the causing event and
the recipient), the same on every retry: HTTP channels send it as the ``Idempotency-Key`` header,
email as the ``Message-ID``, so a receiver can drop the repeat a retry after a lost answer makes.
"""

from __future__ import annotations

from typing import Any, Protocol

import aiohttp

from bus import PermanentError
from gennaker.outbound import OutboundClient, OutboundRefused
from schemas import idempotency
from schemas.echo_notifications import Notification
from workers.echo.http_status import worth_retrying


class DeliveryFailed(Exception):
    """The channel could not deliver now (connection refused, 429, 5xx); the message says why."""


class NotificationChannel(Protocol):
    """Delivers a rendered :class:`Notification` to one ``address`` of its kind."""

    type: str

    async def send(self, address: str, notification: Notification, *, idempotency_key: str) -> None:
        """Deliver once; raise :class:`DeliveryFailed` or ``PermanentError`` when it did not go out."""
        ...


def key_header(idempotency_key: str) -> dict[str, str]:
    """The ``Idempotency-Key`` header carrying ``idempotency_key``."""
    return {idempotency.HEADER: idempotency.header_value(idempotency_key)}


async def post_json(
    session: OutboundClient, url: str, payload: Any, *, timeout: float, what: str, idempotency_key: str
) -> bytes:
    """POST ``payload`` as JSON with the ``Idempotency-Key``; 2xx returns the body, 429/5xx/connection
    errors raise ``DeliveryFailed``, any other status ``PermanentError``."""
    headers = key_header(idempotency_key)
    try:
        async with session.post(
            url, json=payload, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            body = await response.read()
            status = response.status
    except OutboundRefused as refusal:
        raise PermanentError(f"{what}: {refusal}") from refusal
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise DeliveryFailed(f"{what} unreachable: {type(error).__name__}: {error}") from error
    excerpt = body[:300].decode(errors="replace")
    if worth_retrying(status):
        raise DeliveryFailed(f"{what} answered HTTP {status}: {excerpt}")
    if not 200 <= status < 300:
        raise PermanentError(f"{what} refused the notification with HTTP {status}: {excerpt}")
    return body
