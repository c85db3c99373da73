"""W3C trace context on the bus: each handler continues the trace of the message it handles.

The OpenTelemetry API alone, so this costs next to nothing unless a process installs the SDK
(:mod:`gennaker.telemetry`, when ``otlp_endpoint`` is set): without it every span is the no-op
one carrying its parent's context, and an envelope's ``traceparent`` passes through unchanged.

An envelope built while a span is current carries that span as its parent, so a pipeline run's
trace nests each message's handler under the handler (or request) that sent it. A span of another
trace (a batch committed by someone else's handler) never adopts the message: it keeps its cause's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import Token
from types import TracebackType

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bus.envelope import Envelope
from schemas import Message

TRACER = trace.get_tracer("gennaker.bus")
PROPAGATOR = TraceContextTextMapPropagator()
ATTRIBUTES = ("execution_id", "stage_id", "task_id", "application")
"""Fields of a message's data copied onto its handler's span (as ``gennaker.<field>``), so a trace
shows which execution, stage and task each handler worked on."""


def current_traceparent() -> str | None:
    """The ``traceparent`` header naming the current span, or ``None`` outside any trace."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def traceparent_for(caused_by: str | None) -> str | None:
    """What a new envelope carries: the current span when it is of the cause's trace, else the cause's."""
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return caused_by
    if caused_by is not None and caused_by.split("-")[1:2] != [format(span.trace_id, "032x")]:
        return caused_by
    return current_traceparent() or caused_by


def step_attributes(message: Message) -> dict[str, str]:
    """The span attributes naming what ``message`` works on (its :data:`ATTRIBUTES`)."""
    values = {key: getattr(message, key, None) for key in ATTRIBUTES}
    return {f"gennaker.{key}": str(value) for key, value in values.items() if value is not None}


def handling(envelope: Envelope, service: str) -> AbstractContextManager[Span]:
    """The span of ``service``'s handler for ``envelope``: a child of the envelope's ``traceparent``.

    Without the SDK installed no span is recorded: the envelope's trace context is made current, as
    the API's no-op tracer would, without building the span it would throw away (every message pays).
    """
    if _recording():
        return _traced(envelope, service)
    return _Untraced(envelope.traceparent)


_sdk_installed = False


def _recording() -> bool:
    """Whether a tracer provider that records was installed (it can be once per process, never removed)."""
    global _sdk_installed
    if not _sdk_installed:
        _sdk_installed = not isinstance(trace.get_tracer_provider(), ProxyTracerProvider | NoOpTracerProvider)
    return _sdk_installed


class _Untraced:
    """:func:`handling` without the SDK: the envelope's ``traceparent`` current while its handler runs."""

    __slots__ = ("_token", "_traceparent")

    def __init__(self, traceparent: str | None) -> None:
        self._traceparent = traceparent
        self._token: Token[Context] | None = None

    def __enter__(self) -> Span:
        if self._traceparent:
            self._token = context.attach(PROPAGATOR.extract({"traceparent": self._traceparent}))
        return trace.get_current_span()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._token is not None:
            context.detach(self._token)


@contextmanager
def _traced(envelope: Envelope, service: str) -> Iterator[Span]:
    parent = PROPAGATOR.extract({"traceparent": envelope.traceparent}) if envelope.traceparent else None
    with TRACER.start_as_current_span(
        f"{service} {envelope.type}", context=parent, kind=SpanKind.CONSUMER, record_exception=False
    ) as span:
        if span.is_recording():
            span.set_attributes(
                {
                    "messaging.system": "gennaker",
                    "messaging.message.id": envelope.id,
                    "messaging.destination.name": service,
                    "gennaker.type": envelope.type,
                    "gennaker.correlation_id": envelope.correlationid,
                    **{f"gennaker.{key}": str(envelope.data[key]) for key in ATTRIBUTES if key in envelope.data},
                }
            )
            if envelope.subject:
                span.set_attribute("gennaker.subject", envelope.subject)
        yield span
