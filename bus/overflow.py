"""The alarm raised when a bounded queue (``Endpoint.max_length``) is full and refuses a message.

A bounded queue (RabbitMQ ``x-max-length`` with ``x-overflow: reject-publish``) keeps a slow
consumer, such as a sink whose remote system is down, from filling the broker. A full queue refuses
new messages rather than dropping old ones: the publisher learns of it (a negative confirm) and
both buses report it here, as an error log line and a counter an operator can alert on.
"""

from __future__ import annotations

import structlog
from prometheus_client import Counter

from bus.errors import BusError

log = structlog.get_logger("gennaker.bus.overflow")

PUBLISH_REJECTED = Counter(
    "gennaker_publish_rejected_total",
    "Messages a full bounded queue refused (x-max-length, reject-publish)",
    ["exchange", "routing_key"],
)


def refused(exchange: str, routing_key: str, *, queue: str | None = None) -> None:
    """Count and log one message a full queue refused."""
    PUBLISH_REJECTED.labels(exchange or "(default)", routing_key).inc()
    log.error(
        "a full queue refused a message: its consumer is falling behind (raise max_length or fix the consumer)",
        exchange=exchange or "(default)",
        routing_key=routing_key,
        queue=queue,
    )


class QueueFull(BusError, ConnectionError):
    """A command or direct put was refused by a full bounded queue; the message was not stored."""
