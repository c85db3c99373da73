"""A stopping worker waits for its handlers in flight only for its grace, then leaves their messages.

``gennaker up`` stops every worker at once; a handler waiting on a worker stopped beside it (Echo
asking Front50, retrying each timeout) once held the process for every attempt it had left, past
the stop signal. With ``ServiceHost(stop_grace=...)`` the handler is cancelled when the grace is
over and its message goes back unacknowledged, so the next worker of that service handles it.
Run on the in-memory bus and on RabbitMQ.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aio_pika
import pytest

from bus import Bus, Endpoint, Envelope, MemoryBus, MessageContext
from bus.amqp import AmqpBus
from bus.endpoint import RawHandler
from bus.service import Service, ServiceHost

pytestmark = pytest.mark.timeout(60)

GRACE = 0.3


@pytest.fixture(params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)])
async def bus(request: pytest.FixtureRequest, unique: str) -> AsyncIterator[Bus]:
    if request.param == "memory":
        async with MemoryBus() as memory:
            yield memory
        return
    amqp_url: str = request.getfixturevalue("amqp_url")
    amqp = await AmqpBus.connect(amqp_url, source="/test")
    try:
        yield amqp
    finally:
        await amqp.close()
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(f"gennaker.{unique}.events")


def host(bus: Bus, unique: str, handle: RawHandler, *, stop_grace: float | None) -> ServiceHost:
    endpoint = Endpoint(service=unique, kind="events", patterns=(f"{unique}.#",), raw_handler=handle)
    return ServiceHost(bus, Service(unique, "1.0", [endpoint]), stop_grace=stop_grace)


async def publish(bus: Bus, unique: str, n: int) -> None:
    envelope = Envelope(source="/test", type="io.gennaker.test.thing.happened.v1", data={"n": n})
    await bus.publish_envelope(envelope, routing_key=f"{unique}.thing")


async def test_a_handler_still_running_after_the_grace_is_cancelled_and_its_message_handled_by_the_next_worker(
    bus: Bus, unique: str
) -> None:
    taken = asyncio.Event()
    cancelled = asyncio.Event()

    async def stuck(envelope: Envelope, context: MessageContext) -> None:
        taken.set()
        try:
            await asyncio.Event().wait()  # e.g. asking a peer that has already stopped
        except asyncio.CancelledError:
            cancelled.set()
            raise

    first = host(bus, unique, stuck, stop_grace=GRACE)
    await first.start()
    await publish(bus, unique, 1)
    async with asyncio.timeout(10):
        await taken.wait()
    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(10):
        await first.stop()
    took = asyncio.get_running_loop().time() - started
    assert cancelled.is_set()
    assert GRACE <= took < GRACE + 5, took

    handled: list[tuple[int, bool]] = []

    async def finishes(envelope: Envelope, context: MessageContext) -> None:
        handled.append((envelope.data["n"], context.redelivered))

    second = host(bus, unique, finishes, stop_grace=GRACE)
    async with second:
        async with asyncio.timeout(10):
            while not handled:
                await asyncio.sleep(0.01)
    assert handled == [(1, True)]


async def test_without_a_grace_stop_waits_for_the_handler_to_finish(bus: Bus, unique: str) -> None:
    taken = asyncio.Event()
    release = asyncio.Event()
    finished: list[int] = []

    async def slow(envelope: Envelope, context: MessageContext) -> None:
        taken.set()
        await release.wait()
        finished.append(envelope.data["n"])

    worker = host(bus, unique, slow, stop_grace=None)
    await worker.start()
    await publish(bus, unique, 7)
    async with asyncio.timeout(10):
        await taken.wait()
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(GRACE * 2)
    assert not stopping.done() and finished == []
    release.set()
    async with asyncio.timeout(10):
        await stopping
    assert finished == [7]
