"""One pipeline run through Gate is one trace: the request, every stage's tasks, the outbound webhook call.

The real OpenTelemetry SDK records the spans into its own in-memory exporter; the rig is the one
``gennaker up`` wires (mongoeco's wire server, a MemoryBus, Front50, Orca, Clouddriver, the gateway).
The SDK's provider is global and can be installed once per process: a sampler switched off after
this module keeps later tests in the same process from recording anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes
from pymongo import AsyncMongoClient

from bus import MemoryBus
from bus.service import ServiceHost
from gateway.app import create_app
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.json_types import Json
from tests.integration.gate.conftest import Client, eventually
from tests.integration.gate.flows import create_application
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.clouddriver import worker as clouddriver
from workers.front50 import worker as front50
from workers.orca import worker as orca


class Switch(Sampler):
    """Records every span while ``on``; drops them (context still propagated) once this module is done."""

    on = True

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP)

    def get_description(self) -> str:
        return "tests' switch"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter, switch = InMemorySpanExporter(), Switch()
    provider = TracerProvider(sampler=switch)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        switch.on = False
        exporter.clear()


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A local HTTP server recording the headers of every call."""
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", seen
    finally:
        await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with AsyncExitStack() as stack:
        server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
        address = await server.start()
        stack.push_async_callback(server.close)
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(address.uri)
        stack.push_async_callback(mongo.close)
        resources = WorkerResources(settings=Settings(outbound=LOOPBACK_TEST_SERVERS), db=mongo["gennaker"])
        bus = MemoryBus()
        stack.push_async_callback(bus.close)
        for service in (front50.build_service(resources), orca.build_service(resources)):
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        host = ServiceHost(bus, clouddriver.build_service(resources, accounts=[]))
        await host.start()
        stack.push_async_callback(host.stop)
        app = create_app(bus, GatewayConfig(version="9.9.9", services=("front50", "orca", "clouddriver")))
        test_client: Client = TestClient(TestServer(app))
        await test_client.start_server()
        stack.push_async_callback(test_client.close)
        yield test_client


async def settled_spans(spans: InMemorySpanExporter, route: str, *, within: float = 5.0) -> list[ReadableSpan]:
    """The finished spans once every span of the request's trace has a finished parent (or ``within`` passed)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        finished = list(spans.get_finished_spans())
        known = {s.context.span_id for s in finished if s.context is not None}
        roots = [s for s in finished if s.kind is SpanKind.SERVER and s.name == route and s.context is not None]
        traces = {s.context.trace_id for s in roots if s.context is not None}
        waiting = [
            s
            for s in finished
            if s.context is not None
            and s.context.trace_id in traces
            and s.parent is not None
            and s.parent.span_id not in known
        ]
        if not waiting or asyncio.get_running_loop().time() > deadline:
            return finished
        await asyncio.sleep(0.05)


async def test_a_pipeline_run_is_one_trace_of_request_tasks_and_webhook_call(
    spans: InMemorySpanExporter, client: Client, webhook: tuple[str, list[dict[str, str]]]
) -> None:
    url, calls = webhook
    await create_application(client, "traced")
    stages = [
        {"refId": "1", "type": "wait", "name": "pause", "waitTime": 0},
        {"refId": "2", "type": "webhook", "name": "notify", "url": url, "requisiteStageRefIds": ["1"]},
    ]
    saved = await client.post("/pipelines", json={"application": "traced", "name": "hooked", "stages": stages})
    assert saved.status == 200, await saved.text()
    spans.clear()

    started = await client.post("/pipelines/traced/hooked", json={})
    assert started.status == 202, await started.text()
    ref = (await started.json())["ref"]

    async def read() -> Json:
        response = await client.get(ref)
        body: Json = await response.json()
        return body

    execution: Json = await eventually(read, lambda body: body["status"] in ("SUCCEEDED", "TERMINAL"))
    assert execution["status"] == "SUCCEEDED", execution
    route = "POST /pipelines/{application}/{pipelineNameOrId}"
    # the run can be SUCCEEDED while a handler of its last event (Orca checking pipeline triggers) is still
    # open: its child spans are finished and it is not yet, so read the spans once every open one has ended
    finished = await settled_spans(spans, route)

    requests = [s for s in finished if s.kind is SpanKind.SERVER and s.name == route]
    assert len(requests) == 1, [s.name for s in finished]
    request = requests[0]
    assert request.context is not None and request.parent is None
    trace_id = request.context.trace_id
    run = [s for s in finished if s.context is not None and s.context.trace_id == trace_id]

    def attribute(span: ReadableSpan, key: str) -> object:
        return (span.attributes or {}).get(f"gennaker.{key}")

    for stage in execution["stages"]:
        assert stage["tasks"], stage
        for task in stage["tasks"]:
            ran = [s for s in run if attribute(s, "stage_id") == stage["id"] and attribute(s, "task_id") == task["id"]]
            assert any("RunTask" in s.name for s in ran), f"no span of task {task['name']} of stage {stage['name']}"
        assert any(attribute(s, "stage_id") == stage["id"] and "StartStage" in s.name for s in run), stage["name"]

    outbound = [s for s in run if s.kind is SpanKind.CLIENT]
    assert [s.name for s in outbound] == ["POST 127.0.0.1"]
    assert outbound[0].context is not None
    sent = calls[0]["traceparent"].split("-")
    assert sent[1] == format(trace_id, "032x") and sent[2] == format(outbound[0].context.span_id, "016x")

    known = {s.context.span_id for s in run if s.context is not None}
    orphans = [s.name for s in run if s is not request and (s.parent is None or s.parent.span_id not in known)]
    assert orphans == [], "spans of the run whose parent is not in the run's trace"
