"""Prometheus metrics of the consumer runtime, shared by every bus implementation."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_HANDLED = Counter("gennaker_messages_handled_total", "Messages handled successfully", ["service", "type"])
MESSAGES_FAILED = Counter("gennaker_messages_failed_total", "Handler failures (each attempt)", ["service", "type"])
HANDLER_SECONDS = Histogram("gennaker_handler_seconds", "Time spent in a message handler", ["service", "type"])
RETRIES = Counter("gennaker_retries_total", "Messages scheduled for a retry", ["service", "type"])
DEAD_LETTERS = Counter("gennaker_dead_letters_total", "Messages dead-lettered", ["service", "reason"])
IN_FLIGHT = Gauge("gennaker_in_flight", "Messages being handled right now", ["service"])
MESSAGES_SENT = Counter("gennaker_messages_sent_total", "Messages published", ["kind", "type"])
