"""What an AMQP delivery carries besides its body, read and written in one place.

The retry and dead-letter paths of :class:`bus.amqp.AmqpBus` copy a delivery with headers of
their own (attempt, delay, reason, traceback, the queue it failed on, whether an outsider sent it);
listing and replaying dead letters reads them back. These functions are pure: they build or read
messages and never touch the broker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from bus.dead_letter import (
    ATTEMPT_HEADER,
    DEAD_AT_HEADER,
    MESSAGE_ID_HEADER,
    ORIGIN_HEADER,
    QUEUE_HEADER,
    REASON_HEADER,
    TRACEBACK_HEADER,
    DeadLetter,
)
from bus.dispatch import Verdict
from bus.endpoint import EXTERNAL_EXCHANGE
from bus.envelope import new_id

DELAY_HEADER = "gennaker-retry-delay-ms"
"""Matched by the headers exchange; RabbitMQ ignores ``x-`` headers when matching, hence no prefix."""
TRACEBACK_LIMIT = 16_000
DEAD_LETTER_ONLY = {REASON_HEADER, TRACEBACK_HEADER, QUEUE_HEADER, DEAD_AT_HEADER, ATTEMPT_HEADER}
"""The headers a dead letter gains that its replay leaves off."""


def text(value: object) -> str:
    """A header's value as text (AMQP tables may carry bytes)."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def attempt_of(message: AbstractIncomingMessage) -> int:
    """Which delivery attempt this is (1 for a message never retried)."""
    value = (message.headers or {}).get(ATTEMPT_HEADER, 1)
    return value if isinstance(value, int) and value > 0 else 1


def is_external(message: AbstractIncomingMessage) -> bool:
    """Published from outside: first published to the external exchange (the broker says so), or
    marked so by the service that retried or dead-lettered it (a mark only ever lowers trust)."""
    return message.exchange == EXTERNAL_EXCHANGE or text((message.headers or {}).get(ORIGIN_HEADER, "")) == "external"


def copy_message(message: AbstractIncomingMessage, headers: dict[str, Any], **overrides: Any) -> aio_pika.Message:
    """A persistent copy of ``message`` with ``headers`` (and any property in ``overrides``)."""
    properties: dict[str, Any] = {
        "content_type": message.content_type,
        "message_id": message.message_id,
        "correlation_id": message.correlation_id,
        "type": message.type,
        "app_id": message.app_id,
        "timestamp": message.timestamp,
    }
    properties.update(overrides)
    return aio_pika.Message(message.body, headers=headers, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **properties)


def retry_copy(message: AbstractIncomingMessage, verdict: Verdict) -> aio_pika.Message:
    """``message`` to publish to the retry exchange: its next attempt after ``verdict.delay_ms``."""
    headers = dict(message.headers or {})
    headers[ATTEMPT_HEADER] = attempt_of(message) + 1
    headers[DELAY_HEADER] = str(verdict.delay_ms)
    headers[REASON_HEADER] = (verdict.reason or "")[:1000]
    if is_external(message):
        headers[ORIGIN_HEADER] = "external"
    return copy_message(message, headers)


def dead_copy(message: AbstractIncomingMessage, verdict: Verdict, queue: str) -> aio_pika.Message:
    """``message`` to publish to the dead-letter exchange, with why and where it failed."""
    message_id = verdict.message_id or message.message_id or new_id()
    headers = dict(message.headers or {})
    headers.pop(DELAY_HEADER, None)
    headers.update(
        {
            REASON_HEADER: verdict.reason or "unknown",
            TRACEBACK_HEADER: (verdict.traceback or "")[-TRACEBACK_LIMIT:],
            QUEUE_HEADER: queue,
            DEAD_AT_HEADER: datetime.now(UTC).isoformat(),
            ATTEMPT_HEADER: attempt_of(message),
            MESSAGE_ID_HEADER: message_id,
        }
    )
    if is_external(message):
        headers[ORIGIN_HEADER] = "external"
    return copy_message(message, headers, message_id=message_id)


def replay_copy(message: AbstractIncomingMessage) -> aio_pika.Message:
    """A dead letter to put back on its queue: as it was before it died (an outsider's mark kept)."""
    headers = {key: value for key, value in (message.headers or {}).items() if key not in DEAD_LETTER_ONLY}
    return copy_message(message, headers)


def dead_letter_of(message: AbstractIncomingMessage) -> DeadLetter:
    """The :class:`DeadLetter` a message on the dead-letter queue describes."""
    headers = message.headers or {}
    dead_at = headers.get(DEAD_AT_HEADER)
    return DeadLetter(
        id=text(headers.get(MESSAGE_ID_HEADER) or message.message_id or new_id()),
        queue=text(headers.get(QUEUE_HEADER, "")),
        reason=text(headers.get(REASON_HEADER, "unknown")),
        traceback=text(headers[TRACEBACK_HEADER]) if headers.get(TRACEBACK_HEADER) else None,
        dead_at=datetime.fromisoformat(text(dead_at)) if dead_at else datetime.now(UTC),
        attempts=attempt_of(message),
        body=message.body,
        external=is_external(message),
    )
