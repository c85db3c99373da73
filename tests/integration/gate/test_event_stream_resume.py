"""``GET /events/stream`` resumes after ``Last-Event-ID`` from Echo's recent-events history.

The gateway, Front50 and Echo run for real on a MemoryBus and one store; events are published on
the bus as any service would, and the stream is read frame by frame.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest

from bus import Envelope, MemoryBus
from bus.service import ServiceHost
from gateway import events_stream
from gennaker.commands.events import _gateway_events
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.echo import ListRecentEvents, RecentEvents
from schemas.system import WorkerStarted
from tests.integration.gate.conftest import Client, System, start_system
from tests.integration.test_gateway_events import read_frame
from workers.echo import worker as echo
from workers.echo.triggers import TriggerOptions

PATTERN = "system.worker.started"


@pytest.fixture
async def system() -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        system = await start_system(stack, workers=("front50",))
        host = ServiceHost(
            system.bus,
            echo.build_service(WorkerResources(Settings(), system.db), triggers=TriggerOptions(refresh_seconds=3600)),
        )
        await host.start()
        stack.push_async_callback(host.stop)
        yield system


async def publish(bus: MemoryBus, name: str) -> Envelope:
    return await bus.publish(WorkerStarted(service="resume-test", version="1", instance=name))


async def kept_by_echo(bus: MemoryBus, *events: Envelope) -> None:
    wanted = {event.id for event in events}
    for _ in range(250):
        reply = await bus.ask(ListRecentEvents(), timeout=5)
        assert isinstance(reply, RecentEvents)
        if wanted <= {event["id"] for event in reply.events}:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("Echo never kept the events")


async def next_test_event(response: aiohttp.ClientResponse, notes: list[str] | None = None) -> dict[str, Any]:
    """The next frame of this test's events (worker service 'resume-test'); comments go to ``notes``."""
    while True:
        frame = await read_frame(response)
        if "comment" in frame:
            if notes is not None:
                notes.append(frame["comment"])
            continue
        envelope = Envelope.model_validate_json(frame["data"])
        if envelope.data.get("service") == "resume-test":
            assert frame["id"] == envelope.id
            return {"id": envelope.id, "instance": envelope.data["instance"]}


async def test_reconnecting_with_last_event_id_replays_what_was_missed_then_goes_live(system: System) -> None:
    client: Client = system.client
    first, second, third = [await publish(system.bus, name) for name in ("one", "two", "three")]
    await kept_by_echo(system.bus, first, second, third)

    headers = {"Last-Event-ID": first.id}
    async with client.get("/events/stream", params={"pattern": PATTERN}, headers=headers) as response:
        assert response.status == 200
        replayed = [await next_test_event(response), await next_test_event(response)]
        assert [event["instance"] for event in replayed] == ["two", "three"]
        assert [event["id"] for event in replayed] == [second.id, third.id]
        fourth = await publish(system.bus, "four")
        live = await next_test_event(response)
        assert live == {"id": fourth.id, "instance": "four"}


async def test_the_query_parameter_resumes_too_and_an_unknown_id_replays_all_that_is_kept(system: System) -> None:
    first, second = await publish(system.bus, "one"), await publish(system.bus, "two")
    await kept_by_echo(system.bus, first, second)

    params = {"pattern": PATTERN, "lastEventId": second.id}
    async with system.client.get("/events/stream", params=params) as response:
        later = await publish(system.bus, "three")
        assert await next_test_event(response) == {"id": later.id, "instance": "three"}

    notes: list[str] = []
    params = {"pattern": PATTERN, "lastEventId": "01NOTKEPT0000000000000000"}
    async with system.client.get("/events/stream", params=params) as response:
        replayed = [(await next_test_event(response, notes))["instance"] for _ in range(3)]
    assert replayed == ["one", "two", "three"]
    assert any("no longer in the recent history" in note for note in notes)


async def test_without_echo_the_stream_says_so_and_goes_on_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_stream, "REPLAY_TIMEOUT", 0.2)
    async with AsyncExitStack() as stack:
        system = await start_system(stack, workers=())
        notes: list[str] = []
        headers = {"Last-Event-ID": "01ANY"}
        async with system.client.get("/events/stream", params={"pattern": PATTERN}, headers=headers) as response:
            while not any("did not answer" in note for note in notes):
                frame = await read_frame(response)
                notes.append(frame.get("comment", ""))
            live = await publish(system.bus, "live")
            assert await next_test_event(response) == {"id": live.id, "instance": "live"}


async def test_cli_tail_since_resumes_through_the_gateway(system: System) -> None:
    first, second = await publish(system.bus, "one"), await publish(system.bus, "two")
    await kept_by_echo(system.bus, first, second)
    settings = Settings(gateway_url=str(system.client.make_url("")).rstrip("/"))
    args = argparse.Namespace(pattern=PATTERN, application=None, execution=None, since=first.id)
    events = _gateway_events(settings, args)
    try:
        seen: list[Envelope] = []
        while len(seen) < 2:
            envelope = await asyncio.wait_for(anext(events), 5)
            if envelope.data.get("service") == "resume-test":
                seen.append(envelope)
                if len(seen) == 1:
                    third = await publish(system.bus, "three")
        assert [e.id for e in seen] == [second.id, third.id]
    finally:
        await events.aclose()
