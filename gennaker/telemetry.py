"""Tracing export: with ``otlp_endpoint`` set, a process records its spans and sends them over OTLP/HTTP.

Unset (the default), nothing is installed: the OpenTelemetry API stays the no-op one, spans cost
next to nothing and nothing is sent, while trace context still travels in every envelope
(:mod:`bus.tracing`, :mod:`gateway.tracing`). The SDK and the exporter are imported only when
tracing is on, so a CLI command or an untraced worker never loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from opentelemetry import trace

from gennaker import __version__
from gennaker.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = structlog.get_logger("gennaker.telemetry")


def tracer_provider(settings: Settings, service: str) -> TracerProvider | None:
    """The SDK's provider exporting ``service``'s spans to ``otlp_endpoint``; ``None`` when it is unset."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": f"gennaker-{service}", "service.version": __version__})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    return provider


def configure_tracing(settings: Settings, service: str) -> Callable[[], None]:
    """Install :func:`tracer_provider` for the process when tracing is on; returns what flushes and stops it."""
    provider = tracer_provider(settings, service)
    if provider is None:
        return lambda: None
    trace.set_tracer_provider(provider)
    log.info("traces exported over OTLP", endpoint=settings.otlp_endpoint, service=f"gennaker-{service}")
    return provider.shutdown
