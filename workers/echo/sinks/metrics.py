"""Prometheus metrics of Echo's sinks: what each delivered, refused and retried, and how long it took."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SINK_EVENTS = Counter("gennaker_sink_events_total", "Events a sink finished with", ["sink", "outcome"])
SINK_RETRIES = Counter("gennaker_sink_retries_total", "Batches or items a sink sent again", ["sink"])
SINK_REQUEST_SECONDS = Histogram("gennaker_sink_request_seconds", "Time one request to a sink took", ["sink"])
