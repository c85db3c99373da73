"""Tracing is off unless ``otlp_endpoint`` is set; on, spans reach an OTLP/HTTP collector; context passes through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from bus.tracing import traceparent_for
from gennaker.settings import Settings, SettingsError, load_settings
from gennaker.telemetry import configure_tracing, tracer_provider

CAUSE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
async def collector() -> AsyncIterator[tuple[str, list[tuple[str, bytes]]]]:
    """A local OTLP/HTTP traces endpoint recording each export's content type and body."""
    received: list[tuple[str, bytes]] = []

    async def export(request: web.Request) -> web.Response:
        received.append((request.content_type, await request.read()))
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", export)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1/traces", received
    finally:
        await runner.cleanup()


def test_without_an_endpoint_nothing_is_installed() -> None:
    assert tracer_provider(Settings(), "orca") is None
    configure_tracing(Settings(otlp_endpoint=""), "orca")()


def test_an_endpoint_must_be_an_http_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_OTLP_ENDPOINT", "collector:4318")
    with pytest.raises(SettingsError, match="otlp_endpoint"):
        load_settings()


async def test_spans_are_exported_over_otlp_http(collector: tuple[str, list[tuple[str, bytes]]]) -> None:
    url, received = collector
    provider = tracer_provider(Settings(otlp_endpoint=url), "orca")
    assert provider is not None
    with provider.get_tracer("test").start_as_current_span("orca io.gennaker.orca.RunTask.v1"):
        pass
    assert await asyncio.to_thread(provider.force_flush, 5000)
    await asyncio.to_thread(provider.shutdown)
    assert len(received) == 1 and received[0][0] == "application/x-protobuf"
    export = ExportTraceServiceRequest.FromString(received[0][1])
    resource = {item.key: item.value.string_value for item in export.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "gennaker-orca"
    assert [span.name for span in export.resource_spans[0].scope_spans[0].spans] == ["orca io.gennaker.orca.RunTask.v1"]


def test_an_envelope_keeps_its_cause_trace_outside_a_span_and_under_another_trace() -> None:
    assert traceparent_for(None) is None
    assert traceparent_for(CAUSE) == CAUSE
    other = NonRecordingSpan(SpanContext(0x1234, 0x5678, False, TraceFlags(TraceFlags.SAMPLED)))
    with trace.use_span(other):
        assert traceparent_for(CAUSE) == CAUSE
        assert traceparent_for(None) == f"00-{0x1234:032x}-{0x5678:016x}-01"
    same = NonRecordingSpan(
        SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0x99, False, TraceFlags(TraceFlags.SAMPLED))
    )
    with trace.use_span(same):
        assert traceparent_for(CAUSE) == f"00-0af7651916cd43dd8448eb211c80319c-{0x99:016x}-01"
