"""Acknowledgements sent together on RabbitMQ (``Endpoint.ack_together``, :mod:`bus.amqp_acks`).

Handlers that finish in the same moment are acknowledged with one ``basic.ack`` (``multiple`` on the
highest tag); a handler still running holds back nobody's acknowledgement, and its message alone
goes back to the queue when the consumer stops. What the broker keeps is read back from the broker.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from random import Random
from typing import Any

import aio_pika
import pytest

from bus import Endpoint, Envelope, MessageContext
from bus.amqp import AmqpBus
from bus.amqp_consumption import AmqpConsumption

pytestmark = [pytest.mark.amqp, pytest.mark.timeout(60)]


@pytest.fixture
async def bus(amqp_url: str, unique: str) -> AsyncIterator[AmqpBus]:
    bus = await AmqpBus.connect(amqp_url, source="/test")
    try:
        yield bus
    finally:
        await bus.close()
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(f"gennaker.{unique}.events")


async def spy_on_acks(consumption: AmqpConsumption) -> list[tuple[int, bool]]:
    """Every ``basic.ack`` the consumption's channel sends from now on: (delivery tag, multiple)."""
    channel = await consumption._channel.get_underlay_channel()
    sent: list[tuple[int, bool]] = []
    send = channel.basic_ack

    async def basic_ack(delivery_tag: int, multiple: bool = False, wait: bool = True) -> None:
        sent.append((delivery_tag, multiple))
        await send(delivery_tag=delivery_tag, multiple=multiple, wait=wait)

    channel.basic_ack = basic_ack  # type: ignore[method-assign]
    return sent


async def consume(bus: AmqpBus, unique: str, handler: Any) -> AmqpConsumption:
    endpoint = Endpoint(
        service=unique, kind="events", patterns=(f"{unique}.#",), raw_handler=handler, prefetch=50, ack_together=True
    )
    consumption = await bus.consume(endpoint)
    assert isinstance(consumption, AmqpConsumption)
    return consumption


async def publish(bus: AmqpBus, unique: str, count: int) -> None:
    for n in range(count):
        envelope = Envelope(source="/test", type="io.gennaker.test.thing.happened.v1", data={"n": n})
        await bus.publish_envelope(envelope, routing_key=f"{unique}.thing")


async def until(predicate: Any, what: str) -> None:
    async with asyncio.timeout(20):
        while not predicate():
            await asyncio.sleep(0.01)


async def left_in(amqp_url: str, queue: str) -> list[int]:
    """The ``n`` of every message ready in ``queue`` (taken and put back, so the queue keeps them)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        found: list[int] = []
        declared = await channel.declare_queue(queue, passive=True)
        while (message := await declared.get(no_ack=False, fail=False)) is not None:
            found.append(Envelope.from_bytes(message.body).data["n"])
        return found


async def test_handlers_finishing_together_are_acknowledged_with_one_ack(
    bus: AmqpBus, unique: str, amqp_url: str
) -> None:
    gate = asyncio.Event()
    taken: list[int] = []
    finished: list[int] = []

    async def handle(envelope: Envelope, context: MessageContext) -> None:
        taken.append(envelope.data["n"])
        await gate.wait()
        finished.append(envelope.data["n"])

    consumption = await consume(bus, unique, handle)
    acks = await spy_on_acks(consumption)
    await publish(bus, unique, 30)
    await until(lambda: len(taken) == 30, "all 30 taken")
    gate.set()
    await until(lambda: len(finished) == 30 and acks, "all 30 finished and acknowledged")
    await asyncio.sleep(0.1)
    assert acks == [(30, True)]
    await consumption.stop(grace=0)
    assert await left_in(amqp_url, f"gennaker.{unique}.events") == []


async def test_a_handler_still_running_holds_back_no_other_acknowledgement(
    bus: AmqpBus, unique: str, amqp_url: str
) -> None:
    finished: list[int] = []
    taken = asyncio.Event()

    async def handle(envelope: Envelope, context: MessageContext) -> None:
        if envelope.data["n"] == 0:
            taken.set()
            await asyncio.Event().wait()  # still running when the consumer stops
        await taken.wait()
        finished.append(envelope.data["n"])

    consumption = await consume(bus, unique, handle)
    acks = await spy_on_acks(consumption)
    await publish(bus, unique, 10)
    await until(lambda: len(finished) == 9 and len(acks) == 9, "the other nine finished and acknowledged")
    assert sorted(tag for tag, _ in acks) == list(range(2, 11))
    assert not any(multiple for _, multiple in acks), "no ack may cover the delivery still being handled"
    await consumption.stop(grace=0)  # the handler still running is cancelled, its message put back
    assert await left_in(amqp_url, f"gennaker.{unique}.events") == [0]


async def test_handlers_finishing_in_any_order_are_each_acknowledged_once(
    bus: AmqpBus, unique: str, amqp_url: str
) -> None:
    """Runs and lone acknowledgements interleave without ever naming a tag twice (which the broker
    answers by closing the channel, so every unacknowledged message would come back)."""
    random = Random(7)
    seen: Counter[int] = Counter()

    async def handle(envelope: Envelope, context: MessageContext) -> None:
        await asyncio.sleep(random.choice((0, 0, 0.0005, 0.002)))
        seen[envelope.data["n"]] += 1

    consumption = await consume(bus, unique, handle)
    await asyncio.gather(*(publish_from(bus, unique, start, 100) for start in range(0, 400, 100)))
    await until(lambda: len(seen) == 400, "all 400 handled")
    await asyncio.sleep(0.3)
    await consumption.stop()
    assert set(seen.values()) == {1}, "a message came back: its channel was closed under it"
    assert await left_in(amqp_url, f"gennaker.{unique}.events") == []


async def publish_from(bus: AmqpBus, unique: str, start: int, count: int) -> None:
    for n in range(start, start + count):
        envelope = Envelope(source="/test", type="io.gennaker.test.thing.happened.v1", data={"n": n})
        await bus.publish_envelope(envelope, routing_key=f"{unique}.thing")
