"""GET /events/stream (server-sent events) and POST /events, against a MemoryBus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY

from bus import Endpoint, Envelope, MemoryBus, MessageContext
from bus.memory import MemoryConsumption
from gateway.app import create_app
from gateway.config import GatewayConfig
from gateway.events_stream import TAP_SERVICE
from schemas.system import WorkerStarted, WorkerStopped
from tests.contract.messages import Noticed

HEARTBEAT = 0.1


class TapCountingBus(MemoryBus):
    """A MemoryBus that counts the gateway's live event-stream consumptions, through consume and stop."""

    def __init__(self) -> None:
        super().__init__()
        self.live_taps = 0

    async def consume(self, endpoint: Endpoint) -> MemoryConsumption:
        consumption = await super().consume(endpoint)
        if endpoint.service == TAP_SERVICE:
            self.live_taps += 1
            stop = consumption.stop

            async def stop_and_count(*, grace: float | None = None) -> None:
                await stop(grace=grace)
                self.live_taps -= 1

            consumption.stop = stop_and_count  # type: ignore[method-assign]
        return consumption


@pytest.fixture
async def bus() -> AsyncIterator[TapCountingBus]:
    bus = TapCountingBus()
    try:
        yield bus
    finally:
        await bus.close()


@pytest.fixture
async def client(bus: MemoryBus) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_app(bus, GatewayConfig(version="9.9.9", services=(), sse_heartbeat=HEARTBEAT))
    async with TestClient(TestServer(app)) as client:
        yield client


async def read_frame(response: aiohttp.ClientResponse) -> dict[str, str]:
    """The next SSE frame as field → value; comments come back under ``comment``."""
    fields: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 2)).decode().rstrip("\n")
        if not line:
            if fields:
                return fields
            continue
        name, _, value = line.partition(":")
        fields[name or "comment"] = value.removeprefix(" ")


async def read_event(response: aiohttp.ClientResponse) -> dict[str, str]:
    """The next frame that is an event, skipping heartbeats."""
    while "comment" in (frame := await read_frame(response)):
        pass
    return frame


def open_streams() -> float:
    return REGISTRY.get_sample_value("gennaker_gateway_event_streams") or 0.0


async def eventually(condition: object, seconds: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.02)


async def test_stream_sends_events_matching_the_pattern_and_not_others(
    client: TestClient[web.Request, web.Application], bus: MemoryBus
) -> None:
    async with client.get("/events/stream", params={"pattern": "system.worker.started"}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        assert (await read_frame(response)) == {"comment": "following system.worker.started"}

        await bus.publish(WorkerStopped(service="orca", instance="i-1", reason="shutdown"))
        sent = await bus.publish(WorkerStarted(service="orca", version="1.0", instance="i-2"), subject="sub-1")

        frame = await read_event(response)
        assert frame["id"] == sent.id
        assert frame["event"] == "io.gennaker.system.worker.started.v1"
        received = Envelope.model_validate_json(frame["data"])
        assert received == sent


async def test_pattern_may_repeat(client: TestClient[web.Request, web.Application], bus: MemoryBus) -> None:
    params = [("pattern", "nothing.matches"), ("pattern", "system.worker.stopped")]
    async with client.get("/events/stream", params=params) as response:
        await read_frame(response)
        sent = await bus.publish(WorkerStopped(service="orca", instance="i-1", reason="shutdown"))
        assert (await read_event(response))["id"] == sent.id


async def test_application_filter_matches_the_subject(
    client: TestClient[web.Request, web.Application], bus: MemoryBus
) -> None:
    async with client.get("/events/stream", params={"application": "shop"}) as response:
        await read_frame(response)
        await bus.publish(WorkerStopped(service="orca", instance="i-1", reason="x"), subject="other")
        sent = await bus.publish(WorkerStopped(service="orca", instance="i-1", reason="y"), subject="shop")
        assert (await read_event(response))["id"] == sent.id


async def test_idle_stream_sends_heartbeats(client: TestClient[web.Request, web.Application]) -> None:
    async with client.get("/events/stream") as response:
        await read_frame(response)
        assert await read_frame(response) == {"comment": "heartbeat"}


async def test_invalid_pattern_is_400_naming_the_field(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/events/stream", params={"pattern": "orca..#"})
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "pattern"
    assert "'orca..#'" in body["error"]


async def test_disconnect_stops_the_consumption(
    client: TestClient[web.Request, web.Application], bus: TapCountingBus
) -> None:
    before = open_streams()
    async with client.get("/events/stream") as response:
        await read_frame(response)
        assert (bus.live_taps, open_streams()) == (1, before + 1)
    await eventually(lambda: (bus.live_taps, open_streams()) == (0, before))


async def test_disconnect_is_noticed_without_handler_cancellation(bus: TapCountingBus) -> None:
    """``web.run_app`` does not cancel handlers when a client leaves: the heartbeat notices instead."""
    app = create_app(bus, GatewayConfig(version="9.9.9", services=(), sse_heartbeat=HEARTBEAT))
    runner = web.AppRunner(app, handler_cancellation=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    before = open_streams()
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/events/stream") as stream:
            await read_frame(stream)
            assert (bus.live_taps, open_streams()) == (1, before + 1)
        await eventually(lambda: (bus.live_taps, open_streams()) == (0, before))
    finally:
        await runner.cleanup()


async def test_shutdown_ends_open_streams_instead_of_waiting_for_clients(bus: TapCountingBus) -> None:
    app = create_app(bus, GatewayConfig(version="9.9.9", services=(), sse_heartbeat=60))
    runner = web.AppRunner(app, handler_cancellation=False, shutdown_timeout=30)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    before = open_streams()
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/events/stream") as stream:
        await read_frame(stream)
        started = asyncio.get_running_loop().time()
        await runner.cleanup()
        assert asyncio.get_running_loop().time() - started < 5
        assert (bus.live_taps, open_streams()) == (0, before)


async def collect_events(bus: MemoryBus, pattern: str) -> asyncio.Queue[tuple[Envelope, bool]]:
    """Every envelope routed by ``pattern``, with whether the bus marked it as external."""
    received: asyncio.Queue[tuple[Envelope, bool]] = asyncio.Queue()

    async def keep(envelope: Envelope, context: MessageContext) -> None:
        received.put_nowait((envelope, context.external))

    await bus.consume(Endpoint(service="test", kind="events", patterns=(pattern,), raw_handler=keep, durable=False))
    return received


async def test_post_a_cloudevent_publishes_it_as_external_and_answers_202_with_the_envelope(
    client: TestClient[web.Request, web.Application], bus: MemoryBus
) -> None:
    received = await collect_events(bus, "com.example.#")
    body = {
        "type": "com.example.build.finished",
        "data": {"result": "SUCCESS"},
        "source": "https://ci.example.com/jobs/shop",
        "id": "b-42",
        "subject": "run-7",
    }

    response = await client.post("/events", json=body, headers={"X-Correlation-Id": "c-42"})

    assert response.status == 202
    envelope = Envelope.model_validate(await response.json())
    assert (envelope.type, envelope.id, envelope.source) == ("com.example.build.finished", "b-42", body["source"])
    assert envelope.subject == "run-7"
    assert envelope.correlationid == "c-42"
    assert envelope.data == body["data"]
    assert await asyncio.wait_for(received.get(), 2) == (envelope, True)


async def test_post_a_cloudevent_without_source_names_the_gateway_and_the_caller(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post("/events", json={"type": "com.example.build.finished"})
    assert response.status == 202
    assert (await response.json())["source"].startswith("/gennaker/gateway/events/")


async def test_post_an_external_event_by_name_or_cloudevents_type_validates_it(
    client: TestClient[web.Request, web.Application], bus: MemoryBus
) -> None:
    received = await collect_events(bus, Noticed.message_type)
    for type_name in (Noticed.message_type, Noticed.cloudevent_type()):
        response = await client.post("/events", json={"type": type_name, "data": {"n": 3}})
        assert response.status == 202
        envelope, external = await asyncio.wait_for(received.get(), 2)
        assert (envelope.type, envelope.data, external) == (Noticed.cloudevent_type(), {"n": 3, "fail_times": 0}, True)


@pytest.mark.parametrize(
    ("data", "field"),
    [({}, "data.n"), ({"n": "three"}, "data.n"), ({"n": 1, "colour": "red"}, "data.colour")],
)
async def test_post_invalid_external_event_is_400_naming_the_field(
    client: TestClient[web.Request, web.Application], data: dict[str, object], field: str
) -> None:
    response = await client.post("/events", json={"type": Noticed.message_type, "data": data})
    assert response.status == 400
    body = await response.json()
    assert body["field"] == field
    assert field in body["error"]


@pytest.mark.parametrize("type_name", ["system.worker.started", "io.gennaker.system.worker.stopped.v1", "system.Ping"])
async def test_post_an_internal_type_is_403_naming_it_and_what_to_publish_instead(
    client: TestClient[web.Request, web.Application], bus: MemoryBus, type_name: str
) -> None:
    received = await collect_events(bus, "#")
    data = {"service": "igor", "version": "2", "instance": "i-9", "reason": "done"}
    response = await client.post("/events", json={"type": type_name, "data": data})
    assert response.status == 403
    body = await response.json()
    assert body["field"] == "type"
    assert "only Gennaker's services publish" in body["error"]
    assert "com.example.build.finished" in body["error"]
    await asyncio.sleep(0.05)
    assert received.empty()


@pytest.mark.parametrize("type_name", ["orca.no.such.thing", "io.gennaker.orca.no.such.thing.v1", "io.gennaker.x"])
async def test_post_an_unknown_gennaker_type_is_400_naming_it(
    client: TestClient[web.Request, web.Application], type_name: str
) -> None:
    response = await client.post("/events", json={"type": type_name, "data": {}})
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "type"
    assert "io.gennaker" in body["error"] or "'orca.no.such.thing'" in body["error"]


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (b"{not json", "body", "not valid JSON"),
        (b"", "body", "empty"),
        (b"[]", "body", "request body (PublishEvent): body: Input should be an object"),
        (b'{"data": {}}', "type", "type"),
    ],
)
async def test_post_malformed_body_is_400(
    client: TestClient[web.Request, web.Application], raw: bytes, field: str, words: str
) -> None:
    response = await client.post("/events", data=raw, headers={"Content-Type": "application/json"})
    assert response.status == 400
    body = await response.json()
    assert body["field"] == field
    assert words in body["error"]


def cloudevent(n: int, **attributes: object) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"e-{n}",
        "source": "https://ci.example.com/jobs/shop",
        "type": "com.example.build.finished",
        "subject": f"run-{n}",
        "data": {"n": n},
        **attributes,
    }


async def test_the_cloudevents_http_binding_structured_binary_and_batched(
    client: TestClient[web.Request, web.Application], bus: MemoryBus
) -> None:
    received = await collect_events(bus, "com.example.#")
    structured = await client.post(
        "/events", data=json.dumps(cloudevent(1)), headers={"Content-Type": "application/cloudevents+json"}
    )
    assert structured.status == 202, await structured.text()
    binary_headers = {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "e-2",
        "ce-source": "https://ci.example.com/jobs/shop",
        "ce-type": "com.example.build.finished",
        "ce-subject": "run-2",
    }
    binary = await client.post("/events", data=json.dumps({"n": 2}), headers=binary_headers)
    assert binary.status == 202, await binary.text()
    batch = [cloudevent(3), cloudevent(4, type=Noticed.cloudevent_type(), data={"n": 4})]
    batched = await client.post(
        "/events", data=json.dumps(batch), headers={"Content-Type": "application/cloudevents-batch+json"}
    )
    assert batched.status == 202, await batched.text()
    answered = [Envelope.model_validate(await structured.json()), Envelope.model_validate(await binary.json())]
    answered += [Envelope.model_validate(item) for item in await batched.json()]
    assert [(e.id, e.subject, e.data["n"]) for e in answered] == [(f"e-{n}", f"run-{n}", n) for n in (1, 2, 3, 4)]
    assert answered[3].type == Noticed.cloudevent_type(), "an external Gennaker event in a batch is validated as one"
    arrived = [await asyncio.wait_for(received.get(), 2) for _ in range(3)]  # the Noticed one is not com.example
    assert [(envelope.id, external) for envelope, external in arrived] == [("e-1", True), ("e-2", True), ("e-3", True)]


@pytest.mark.parametrize(
    ("content_type", "body", "headers", "status", "field"),
    [
        ("application/cloudevents+json", cloudevent(1, specversion="0.3"), {}, 400, "specversion"),
        ("application/cloudevents+json", {k: v for k, v in cloudevent(1).items() if k != "id"}, {}, 400, "id"),
        ("application/cloudevents+json", cloudevent(1, data=[1, 2]), {}, 400, "data"),
        ("application/cloudevents+json", cloudevent(1, data_base64="AAEC"), {}, 400, "data_base64"),
        ("application/json", {"n": 1}, {"ce-specversion": "1.0", "ce-source": "s", "ce-type": "com.x"}, 400, "ce-id"),
        ("application/cloudevents-batch+json", [cloudevent(1), cloudevent(2, source=" ")], {}, 400, "[1].source"),
        ("application/cloudevents-batch+json", [cloudevent(1), cloudevent(2, type="system.worker.started")], {},
         403, "[1].type"),
        ("application/cloudevents-batch+json", [cloudevent(n) for n in range(101)], {}, 400, "body"),
        ("application/cloudevents-batch+json", [], {}, 400, "body"),
    ],
)  # fmt: skip
async def test_a_cloudevent_that_breaks_the_binding_is_refused_naming_the_attribute_and_nothing_of_it_is_published(
    client: TestClient[web.Request, web.Application],
    bus: MemoryBus,
    content_type: str,
    body: object,
    headers: dict[str, str],
    status: int,
    field: str,
) -> None:
    received = await collect_events(bus, "#")
    response = await client.post("/events", data=json.dumps(body), headers={"Content-Type": content_type, **headers})
    assert response.status == status, await response.text()
    assert (await response.json())["field"] == field
    await asyncio.sleep(0.05)
    assert received.empty(), "a refused batch publishes none of its events"
