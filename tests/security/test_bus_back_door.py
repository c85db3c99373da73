"""The bus is not a back door, as an attacker tries it: forged events of every internal type.

Every type the registry holds is internal unless marked external (:mod:`schemas.trust`), so these
tests cover a new service's messages the moment it registers them. ``POST /events`` refuses each
with 403 and publishes nothing; published on the external path (what any outside system on
RabbitMQ can do) each is dead-lettered with the reason, unread by any handler, typed or raw. A
legitimate outsider's CloudEvent still starts its pipeline end to end through Echo. RabbitMQ's side
(users, permissions, the broker refusing the services' exchanges) is ``test_bus_lockdown_rabbitmq``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pymongo.asynchronous.database import AsyncDatabase

import schemas.catalog
from bus import Endpoint, Envelope, MemoryBus, MessageContext
from bus.service import ServiceHost
from gateway.app import create_app
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas import Message
from schemas.front50 import PipelineSaved
from schemas.json_types import Json
from schemas.trust import internal_models
from tests.integration.echo.triggers_support import Recorder, config, db, save_pipelines, until
from workers.echo import worker as echo
from workers.echo.triggers import TriggerOptions
from workers.echo.triggers.events import QUEUE as ECHO_TRIGGER_QUEUE
from workers.front50 import worker as front50

__all__ = ["db"]

CATALOGUE = tuple(module.__name__ for module in schemas.catalog.MODULES)
INTERNAL = [model for model in internal_models() if model.__module__ in CATALOGUE]
BUILD_FINISHED = "com.example.build.finished"


def test_every_type_our_services_publish_is_internal() -> None:
    """Nothing in the catalogue is marked external: outsiders publish CloudEvents of their own types."""
    assert len(INTERNAL) == len([model for model in schemas.catalog.registry if model.__module__ in CATALOGUE])
    assert {model.owner() for model in INTERNAL} >= {"orca", "front50", "clouddriver", "echo", "kayenta", "system"}


def forged(model: type[Message], **data: Any) -> bytes:
    return Envelope(source="/gennaker/orca/web-1", type=model.cloudevent_type(), data=data).to_bytes()


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus(source="/attacker-test")
    try:
        yield bus
    finally:
        await bus.close()


async def tap(bus: MemoryBus, pattern: str = "#") -> list[Envelope]:
    seen: list[Envelope] = []

    async def keep(envelope: Envelope, context: MessageContext) -> None:
        seen.append(envelope)

    await bus.consume(Endpoint(service="attacker-tap", kind="events", patterns=(pattern,), raw_handler=keep))
    return seen


@pytest.mark.parametrize("model", INTERNAL, ids=lambda model: model.message_type)
async def test_posting_an_internal_type_is_403_and_puts_nothing_on_the_bus(
    bus: MemoryBus, model: type[Message]
) -> None:
    seen = await tap(bus)
    app = create_app(bus, GatewayConfig(version="9.9.9", services=()))
    async with TestClient(TestServer(app)) as client:
        for type_name in (model.message_type, model.cloudevent_type(), model.cloudevent_type().upper()):
            response = await client.post("/events", json={"type": type_name, "data": {}})
            body = await response.json()
            assert response.status == 403 or (type_name.isupper() and response.status == 400), body
            assert body["field"] == "type"
            if response.status == 403:
                assert repr(model.message_type) in body["error"]
                assert "com.example.build.finished" in body["error"], "the refusal says what to publish instead"
    await asyncio.sleep(0.05)
    assert seen == []
    assert await bus.dead_letters() == []


@pytest.mark.parametrize("model", INTERNAL, ids=lambda model: model.message_type)
async def test_an_internal_type_on_the_external_path_is_dead_lettered_and_never_handled(
    bus: MemoryBus, model: type[Message]
) -> None:
    handled: list[object] = []

    async def handle(message: object, context: MessageContext) -> None:
        handled.append(message)

    seen = await tap(bus)
    await bus.consume(
        Endpoint(service="victim", kind="events", patterns=(model.message_type,), handlers={model.message_type: handle})
    )
    await bus.publish_external(forged(model), routing_key=model.message_type)
    await bus.publish_raw(forged(model), routing_key="after.the.forgery")  # the consumers keep going

    await until(lambda: len(seen) == 1, what="the services' own publish after the forgery")
    letters = await bus.dead_letters()
    assert sorted(letter.queue for letter in letters) == ["gennaker.attacker-tap.events", "gennaker.victim.events"]
    for letter in letters:
        assert letter.external
        assert "internal type from an external publisher" in letter.reason
        assert repr(model.cloudevent_type()) in letter.reason
    assert handled == []
    assert [envelope.type for envelope in seen] == [model.cloudevent_type()]


def cloudevent_trigger(event_type: str) -> Json:
    return {"type": "cloudevent", "enabled": True, "eventType": event_type}


@pytest.fixture
async def system(db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[tuple[MemoryBus, Recorder, TestClient[Any, Any]]]:
    async with AsyncExitStack() as stack:
        bus = MemoryBus(source="/attacker-test")
        stack.push_async_callback(bus.close)
        resources = WorkerResources(Settings(), db)
        for service in (
            front50.build_service(resources),
            echo.build_service(resources, triggers=TriggerOptions(refresh_seconds=3600)),
        ):
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        recorder = await Recorder().start(bus)
        stack.push_async_callback(recorder.stop)
        client = TestClient(TestServer(create_app(bus, GatewayConfig(version="9.9.9", services=()))))
        await client.start_server()
        stack.push_async_callback(client.close)
        yield bus, recorder, client


async def test_a_cloudevent_posted_from_outside_still_starts_its_pipeline_and_forgeries_start_nothing(
    system: tuple[MemoryBus, Recorder, TestClient[Any, Any]],
) -> None:
    bus, recorder, client = system
    internal_trigger = "io.gennaker.orca.execution.completed.v1"
    await save_pipelines(
        bus,
        config("on-build", cloudevent_trigger(BUILD_FINISHED)),
        config("on-internal", cloudevent_trigger(internal_trigger)),
    )
    # forgeries: a saved pipeline Echo would index (its trigger on an attacker's event type), and an
    # internal event a trigger asks for; both through the external path, as any AMQP outsider could
    smuggled = config("smuggled", cloudevent_trigger("com.example.evil"))
    await bus.publish_external(forged(PipelineSaved, pipeline=smuggled), routing_key=PipelineSaved.message_type)
    await bus.publish_external(
        json.dumps({"specversion": "1.0", "id": "x-1", "source": "/gennaker/orca", "type": internal_trigger}).encode(),
        routing_key="orca.execution.completed",
    )
    response = await client.post("/events", json={"type": "com.example.evil", "id": "e-1", "source": "https://evil"})
    assert response.status == 202, "a foreign CloudEvent is accepted, and must start nothing here"
    response = await client.post(
        "/events",
        json={
            "type": BUILD_FINISHED,
            "id": "b-1",
            "source": "https://ci.example.com",
            "data": {"parameters": {"b": 1}},
        },
    )
    assert response.status == 202

    await until(lambda: len(recorder.commands) >= 1, what="the CloudEvent's pipeline to start")
    await asyncio.sleep(0.2)
    assert [command.pipeline_name_or_id for command in recorder.commands] == ["on-build"]
    assert recorder.commands[0].trigger["cloudEvent"]["source"] == "https://ci.example.com"
    reasons = {letter.reason for letter in await bus.dead_letters() if letter.queue == ECHO_TRIGGER_QUEUE}
    assert any(repr(PipelineSaved.cloudevent_type()) in reason for reason in reasons)
    assert any(repr(internal_trigger) in reason for reason in reasons)
