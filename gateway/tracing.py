"""A span per request, so every message the request causes carries its W3C ``traceparent``.

The span continues the caller's trace when the request carries a ``traceparent`` header. With
tracing off (no SDK installed: :mod:`gennaker.telemetry`) nothing is recorded, yet the request
still gets trace context of its own, a fresh unsampled one when the caller sent none, so every
envelope the gateway publishes names a trace and a worker that does record continues it.

With no SDK installed the span would be the caller's (or the fresh one) unchanged, so the request
takes that straight away: starting a no-op span and entering two context managers cost more than
the rest of this middleware's work together on a read the gateway answers from memory.
"""

from __future__ import annotations

import random

from aiohttp import web
from aiohttp.typedefs import Handler
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, ProxyTracerProvider, SpanContext, SpanKind, StatusCode, TraceFlags

from bus.tracing import PROPAGATOR

TRACER = trace.get_tracer("gennaker.gateway")


def _fresh() -> NonRecordingSpan:
    return NonRecordingSpan(
        SpanContext(random.getrandbits(128) or 1, random.getrandbits(64) or 1, False, TraceFlags(TraceFlags.DEFAULT))
    )


@web.middleware
async def tracing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run the handler inside the request's span; a 5xx answer marks the span as failed."""
    if isinstance(trace.get_tracer_provider(), ProxyTracerProvider):  # no SDK: nothing is recorded
        header = request.headers.get("traceparent")
        span = trace.get_current_span(PROPAGATOR.extract({"traceparent": header})) if header else None
        current = span if span is not None and span.get_span_context().is_valid else _fresh()
        token = context.attach(trace.set_span_in_context(current))
        try:
            return await handler(request)
        finally:
            context.detach(token)
    parent = PROPAGATOR.extract({"traceparent": request.headers.get("traceparent", "")})
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else request.path
    with TRACER.start_as_current_span(
        f"{request.method} {route}", context=parent, kind=SpanKind.SERVER, record_exception=False
    ) as span:
        if not span.get_span_context().is_valid:  # tracing off and no trace of the caller's
            with trace.use_span(_fresh()):
                return await handler(request)
        if span.is_recording():
            span.set_attributes({"http.request.method": request.method, "http.route": route, "url.path": request.path})
        response = await handler(request)
        if span.is_recording():
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                span.set_status(StatusCode.ERROR)
        return response
