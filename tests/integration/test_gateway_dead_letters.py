"""/dlq list, show and replay, on dead letters a MemoryBus really produced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bus import Consumption, Endpoint, Envelope, MemoryBus
from gateway.app import create_app
from gateway.config import GatewayConfig
from schemas.front50 import PipelineSaved

QUEUE = "gennaker.x.commands"

type Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus()
    try:
        yield bus
    finally:
        await bus.close()


@pytest.fixture
async def client(bus: MemoryBus) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(bus, GatewayConfig(version="9.9.9", services=())))) as client:
        yield client


async def kill_messages(bus: MemoryBus, *bodies: bytes) -> Consumption:
    """Consume service x's commands and feed it bodies it must dead-letter; returns the consumption."""
    consumption = await bus.consume(Endpoint(service="x", kind="commands"))
    for body in bodies:
        await bus.put_raw(QUEUE, body)
    for _ in range(100):
        if len(await bus.dead_letters()) == len(bodies):
            return consumption
        await asyncio.sleep(0.01)
    raise AssertionError("the bus never dead-lettered the messages")


async def test_list_shows_each_dead_letter(client: Client, bus: MemoryBus) -> None:
    await kill_messages(bus, b"not json", b"\xff\xfe")

    response = await client.get("/dlq")

    assert response.status == 200
    letters = await response.json()
    assert [letter["queue"] for letter in letters] == [QUEUE, QUEUE]
    first = letters[0]
    assert set(first) == {"id", "queue", "reason", "deadAt", "attempts", "external"}
    assert first["external"] is False
    assert "invalid CloudEvents envelope" in first["reason"]
    assert first["attempts"] == 1
    assert first["id"] == (await bus.dead_letters())[0].id


async def test_show_gives_body_text_and_reason(client: Client, bus: MemoryBus) -> None:
    await kill_messages(bus, b"not json")
    (letter,) = await bus.dead_letters()

    response = await client.get(f"/dlq/{letter.id}")

    assert response.status == 200
    shown = await response.json()
    assert shown["body"] == "not json"
    assert shown["reason"] == letter.reason
    assert shown["id"] == letter.id


async def test_show_unknown_id_is_404_naming_it(client: Client) -> None:
    response = await client.get("/dlq/nope-123")
    assert response.status == 404
    assert "'nope-123'" in (await response.json())["error"]


async def test_replay_by_id_puts_that_letter_back_on_its_queue(client: Client, bus: MemoryBus) -> None:
    consumption = await kill_messages(bus, b"first", b"second")
    await consumption.stop()
    first, second = await bus.dead_letters()

    response = await client.post("/dlq/replay", json={"ids": [first.id, "missing-1"]})

    assert response.status == 200
    assert await response.json() == {"replayed": 1, "notFound": ["missing-1"]}
    assert bus.depth(QUEUE) == 1
    assert [letter.id for letter in await bus.dead_letters()] == [second.id]


async def test_replay_all(client: Client, bus: MemoryBus) -> None:
    consumption = await kill_messages(bus, b"first", b"second")
    await consumption.stop()

    response = await client.post("/dlq/replay", json={"all": True})

    assert response.status == 200
    assert (await response.json())["replayed"] == 2
    assert bus.depth(QUEUE) == 2
    assert await bus.dead_letters() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "body"), ({"ids": ["a"], "all": True}, "body"), ({"ids": []}, "ids"), ({"all": False}, "all")],
)
async def test_replay_without_a_clear_choice_is_400(client: Client, body: dict[str, object], field: str) -> None:
    response = await client.post("/dlq/replay", json=body)
    assert response.status == 400
    assert (await response.json())["field"] == field


async def test_cli_lists_shows_and_replays_through_the_gateway(
    client: Client, bus: MemoryBus, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gennaker dlq`` without a broker URL reads the same letters through these routes."""
    import argparse

    from gennaker.commands import dlq
    from gennaker.settings import Settings

    await kill_messages(bus, b"not json")
    [letter] = await bus.dead_letters()
    settings = Settings(gateway_url=str(client.make_url("/")))

    assert await asyncio.to_thread(dlq.run_list, argparse.Namespace(output="table"), settings) == 0
    listed = capsys.readouterr().out
    assert letter.id in listed and QUEUE in listed and "invalid CloudEvents envelope" in listed

    assert await asyncio.to_thread(dlq.run_show, argparse.Namespace(id=letter.id, output="table"), settings) == 0
    shown = capsys.readouterr().out
    assert f"id:       {letter.id}" in shown and "dead at:" in shown and "not json" in shown

    assert await asyncio.to_thread(dlq.run_replay, argparse.Namespace(ids=[letter.id], all=False), settings) == 0
    assert "replayed 1 dead letter" in capsys.readouterr().out


async def test_a_letter_an_outsider_published_is_marked_external(client: Client, bus: MemoryBus) -> None:
    await bus.consume(Endpoint(service="x", kind="events", patterns=("#",), raw_handler=lambda *_: asyncio.sleep(0)))
    forged = Envelope(source="/gennaker/front50/web-1", type=PipelineSaved.cloudevent_type(), data={})
    await bus.publish_external(forged.to_bytes(), routing_key=PipelineSaved.message_type)
    for _ in range(100):
        if await bus.dead_letters():
            break
        await asyncio.sleep(0.01)

    response = await client.get("/dlq")

    letters = await response.json()
    assert letters, "the forgery was dead-lettered"
    for letter in letters:  # by every queue it reached: service x's and the gateway's own
        assert letter["external"] is True
        assert "internal type from an external publisher" in letter["reason"]
    letter = letters[0]
    shown = await (await client.get(f"/dlq/{letter['id']}")).json()
    assert shown["external"] is True
