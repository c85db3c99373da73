"""Prometheus metrics of the consumer runtime, shared by every bus implementation."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_HANDLED = Counter("gennaker_messages_handled_total", "Messages handled successfully", ["service", "type"])
MESSAGES_FAILED = Counter("gennaker_messages_failed_total", "Handler failures (each attempt)", ["service", "type"])
HANDLER_SECONDS = Histogram("gennaker_handler_seconds", "Time spent in a message handler", ["service", "type"])
CANCELLED = Counter(
    "gennaker_handlers_cancelled_total",
    "Handlers cancelled before they finished (channel closed, worker stopping): their messages are redelivered",
    ["service", "type"],
)
RETRIES = Counter("gennaker_retries_total", "Messages scheduled for a retry", ["service", "type"])
DEAD_LETTERS = Counter("gennaker_dead_letters_total", "Messages dead-lettered", ["service", "reason"])
IN_FLIGHT = Gauge("gennaker_in_flight", "Messages being handled right now", ["service"])
MESSAGES_SENT = Counter("gennaker_messages_sent_total", "Messages published", ["kind", "type"])


class HandlerMetrics(NamedTuple):
    """The metric children of one (service, message type), looked up once instead of per message."""

    handled: Counter
    failed: Counter
    seconds: Histogram
    retries: Counter
    in_flight: Gauge
    cancelled: Counter


@lru_cache(maxsize=4096)
def for_handler(service: str, message_type: str) -> HandlerMetrics:
    """The cached metric children for ``message_type`` handled by ``service``."""
    return HandlerMetrics(
        MESSAGES_HANDLED.labels(service, message_type),
        MESSAGES_FAILED.labels(service, message_type),
        HANDLER_SECONDS.labels(service, message_type),
        RETRIES.labels(service, message_type),
        IN_FLIGHT.labels(service),
        CANCELLED.labels(service, message_type),
    )


@lru_cache(maxsize=4096)
def sent(kind: str, message_type: str) -> Counter:
    """The cached counter child for messages of ``message_type`` sent or published."""
    return MESSAGES_SENT.labels(kind, message_type)
