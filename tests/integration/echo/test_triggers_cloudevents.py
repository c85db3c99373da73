"""CloudEvent triggers: a CloudEvent anyone publishes on ``gennaker.events`` starts the pipelines asking for it.

In memory, Echo runs whole next to a real Front50 (configs saved after Echo started reach it through
Front50's events). On RabbitMQ, the event is published with plain aio-pika, as a foreign system
would, and no Gennaker code is on the publishing side.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aio_pika
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import Envelope, MemoryBus
from bus.amqp import AmqpBus
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.echo import ListRecentEvents, RecentEvents
from schemas.json_types import Json
from tests.authorities import ADMIN
from tests.integration.echo.triggers_support import Recorder, config, db, save_pipelines, until
from workers.echo import worker as echo
from workers.echo.triggers import TriggerOptions
from workers.echo.triggers.cloudevents import CloudEventTriggers
from workers.echo.triggers.events import TriggerEvents
from workers.echo.triggers.history import RecentEventsStore
from workers.echo.triggers.pipelines import PipelineIndex
from workers.front50 import worker as front50

__all__ = ["db"]

BUILD_FINISHED = "com.example.build.finished"


def cloudevent_trigger(**fields: Any) -> Json:
    return {"type": "cloudevent", "enabled": True, "eventType": BUILD_FINISHED, **fields}


def build_finished(
    event_id: str = "b-1",
    source: str = "https://ci.example.com/jobs/shop",
    time: str = "2026-11-25T12:00:00Z",
    **data: Any,
) -> bytes:
    """A structured-mode CloudEvent as a foreign CI server would send it."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "type": BUILD_FINISHED,
            "time": time,
            "datacontenttype": "application/json",
            "data": {"result": "SUCCESS", "parameters": {"build": "42"}, **data},
        }
    ).encode()


@pytest.fixture
async def system(db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[tuple[MemoryBus, Recorder]]:
    async with AsyncExitStack() as stack:
        bus = MemoryBus(source="/test")
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
        yield bus, recorder


async def saved_and_seen_by_echo(bus: MemoryBus, *configs: Json) -> None:
    """Save through Front50, then wait until Echo's event consumer has passed the saves."""
    await save_pipelines(bus, *configs)
    wanted = {c["id"] for c in configs}

    async def seen() -> set[str]:
        reply = await bus.ask(ListRecentEvents(), timeout=5)
        assert isinstance(reply, RecentEvents)
        return {e["data"]["pipeline"]["id"] for e in reply.events if e["type"].endswith("front50.pipeline.saved.v1")}

    for _ in range(250):
        if wanted <= await seen():
            return
    raise AssertionError("Echo never saw the saved pipelines")


async def test_a_matching_cloudevent_starts_the_pipeline_with_the_event_in_its_trigger(
    system: tuple[MemoryBus, Recorder],
) -> None:
    bus, recorder = system
    await saved_and_seen_by_echo(
        bus,
        config(
            "on-success",
            cloudevent_trigger(
                attributeConstraints={"source": r"https://ci\.example\.com/.*"},
                payloadConstraints={"result": "SUCCESS"},
            ),
        ),
        config("on-failure", cloudevent_trigger(payloadConstraints={"result": "FAILURE"})),
        config("other-source", cloudevent_trigger(attributeConstraints={"source": "https://other/.*"})),
        config("other-type", cloudevent_trigger(eventType="com.example.build.started")),
    )
    await bus.publish_raw(build_finished(), routing_key=BUILD_FINISHED)

    await until(lambda: len(recorder.commands) == 1, what="one TriggerPipeline")
    command = recorder.commands[0]
    assert command.pipeline_name_or_id == "on-success"
    assert command.trigger["type"] == "cloudevent"
    assert command.trigger["cloudEvent"]["source"] == "https://ci.example.com/jobs/shop"
    assert command.trigger["payload"]["result"] == "SUCCESS"
    assert command.trigger["parameters"] == {"build": "42"}
    assert command.trigger["eventId"] == "b-1"


async def test_a_redelivered_cloudevent_keys_the_same_execution_and_junk_does_not_stop_the_consumer(
    system: tuple[MemoryBus, Recorder],
) -> None:
    bus, recorder = system
    await saved_and_seen_by_echo(bus, config("p", cloudevent_trigger()))
    await bus.publish_raw(b"this is not a CloudEvent", routing_key=BUILD_FINISHED)
    await bus.publish_raw(build_finished("b-7"), routing_key=BUILD_FINISHED)
    await bus.publish_raw(build_finished("b-7"), routing_key=BUILD_FINISHED)
    await bus.publish_raw(build_finished("b-8"), routing_key=BUILD_FINISHED)

    await until(lambda: len(recorder.commands) == 3)
    keys = recorder.keys()
    assert keys[0] == keys[1] != keys[2]


async def test_the_same_event_published_again_later_keys_the_same_execution(
    system: tuple[MemoryBus, Recorder],
) -> None:
    """A client retrying ``POST /events`` with the same source and id (the gateway stamps each copy with
    a new ``time``) starts nothing twice; the same id from another source is another event."""
    bus, recorder = system
    await saved_and_seen_by_echo(bus, config("p", cloudevent_trigger()))
    await bus.publish_raw(build_finished("b-9", time="2026-11-25T12:00:00Z"), routing_key=BUILD_FINISHED)
    await bus.publish_raw(build_finished("b-9", time="2026-11-25T12:00:07Z"), routing_key=BUILD_FINISHED)
    await bus.publish_raw(
        build_finished("b-9", source="https://ci.example.com/jobs/other", time="2026-11-25T12:00:07Z"),
        routing_key=BUILD_FINISHED,
    )

    await until(lambda: len(recorder.commands) == 3)
    keys = recorder.keys()
    assert keys[0] == keys[1] != keys[2]


async def test_a_deleted_pipeline_is_no_longer_triggered(system: tuple[MemoryBus, Recorder]) -> None:
    from schemas.front50 import DeletePipeline

    bus, recorder = system
    await saved_and_seen_by_echo(bus, config("gone", cloudevent_trigger()), config("kept", cloudevent_trigger()))
    await bus.send(DeletePipeline(authority=ADMIN, application="shop", name="pipeline gone"))

    async def deletion_seen() -> bool:
        reply = await bus.ask(ListRecentEvents(), timeout=5)
        assert isinstance(reply, RecentEvents)
        return any(e["type"].endswith("front50.pipeline.deleted.v1") for e in reply.events)

    for _ in range(250):
        if await deletion_seen():
            break
    await bus.publish_raw(build_finished(), routing_key=BUILD_FINISHED)
    await until(lambda: len(recorder.commands) >= 1)
    assert [c.pipeline_name_or_id for c in recorder.commands] == ["kept"]


@pytest.mark.amqp
async def test_a_cloudevent_published_with_plain_aio_pika_triggers_over_rabbitmq(
    amqp_url: str, unique: str, db: AsyncDatabase[dict[str, Any]]
) -> None:
    bus = await AmqpBus.connect(amqp_url, source="/test")
    index = PipelineIndex(refresh_seconds=3600)
    index.replace_all(
        [config(f"{unique}-p", cloudevent_trigger(attributeConstraints={"subject": unique}), application=unique)]
    )
    events = TriggerEvents(index, RecentEventsStore(db), CloudEventTriggers(index))
    queue = f"gennaker.echo.trigger-events.{unique}"
    consumption = await bus.consume(events.endpoint("echo", queue=queue))
    recorder = await Recorder().start(bus, orca=False)
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange("gennaker.events", ensure=False)
        body = json.loads(build_finished(f"{unique}-1"))
        body["subject"] = unique
        await exchange.publish(
            aio_pika.Message(json.dumps(body).encode(), content_type="application/cloudevents+json"),
            routing_key=BUILD_FINISHED,
        )
        await until(lambda: any(f.pipeline_config_id == f"{unique}-p" for f in recorder.fired), timeout=15)
        fired = next(f for f in recorder.fired if f.pipeline_config_id == f"{unique}-p")
        assert (fired.trigger_type, fired.event_id, fired.application) == ("cloudevent", f"{unique}-1", unique)
    finally:
        await consumption.stop()
        await recorder.stop()
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await connection.close()
        await bus.close()


@pytest.mark.amqp
async def test_the_shared_queue_holds_many_events_at_once_and_the_history_keeps_their_order(
    amqp_url: str, unique: str, db: AsyncDatabase[dict[str, Any]]
) -> None:
    bus = await AmqpBus.connect(amqp_url, source="/test")
    history = RecentEventsStore(db)
    index = PipelineIndex(refresh_seconds=3600)
    index.replace_all([])
    events = TriggerEvents(index, history, CloudEventTriggers(index))
    queue = f"gennaker.echo.trigger-events.{unique}"
    consumption = await bus.consume(events.endpoint("echo", queue=queue))
    try:
        sent = [Envelope(source="/test", type="com.example.thing.happened", subject=unique) for _ in range(60)]
        # one channel keeps the order of the calls: the queue holds them in this order
        await asyncio.gather(*(bus.publish_envelope(e, routing_key=f"{unique}.thing") for e in sent))

        async def kept() -> list[str]:
            recent, _ = await history.after(None, 10_000)
            return [event["id"] for event in recent if event.get("subject") == unique]

        deadline = asyncio.get_running_loop().time() + 20
        while len(await kept()) < len(sent) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert await kept() == [e.id for e in sent]
    finally:
        await consumption.stop()
        channel = bus._channel_or_raise()
        await channel.queue_delete(queue)
        await bus.close()
