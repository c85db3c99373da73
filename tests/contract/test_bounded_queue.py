"""A bounded queue (``Endpoint.max_length``) behaves alike on MemoryBus and AmqpBus.

When ``max_length`` messages wait (the one its consumer holds does not count), the queue refuses
new ones instead of dropping old ones (RabbitMQ's ``reject-publish``): an event publisher carries
on (every other bound queue got the event) and the refusal is counted and logged; a command
sender gets :class:`bus.overflow.QueueFull`.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY

from bus import Endpoint, MessageContext
from bus.endpoint import COMMANDS_EXCHANGE, EVENTS_EXCHANGE
from bus.overflow import QueueFull
from tests.contract.conftest import Harness
from tests.contract.messages import DoWork, Probe

pytestmark = pytest.mark.timeout(60)


def refused(exchange: str, routing_key: str) -> float:
    return (
        REGISTRY.get_sample_value("gennaker_publish_rejected_total", {"exchange": exchange, "routing_key": routing_key})
        or 0.0
    )


async def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_full_event_queue_refuses_new_events_and_raises_the_alarm(harness: Harness, unique: str) -> None:
    release = asyncio.Event()
    handled: list[int] = []
    everything: list[int] = []

    async def slow(message: Probe, context: MessageContext) -> None:
        handled.append(message.n)
        await release.wait()

    async def record(message: Probe, context: MessageContext) -> None:
        everything.append(message.n)

    bus = await harness.bus()
    await bus.consume(
        Endpoint(
            service=unique,
            kind="events",
            patterns=("contract.probe",),
            handlers={"contract.probe": slow},
            prefetch=1,
            max_length=3,
        )
    )
    await bus.consume(
        Endpoint(
            service=f"{unique}-b", kind="events", patterns=("contract.probe",), handlers={"contract.probe": record}
        )
    )
    before = refused(EVENTS_EXCHANGE, "contract.probe")
    try:
        await bus.publish(Probe(n=0))
        await wait_until(lambda: handled == [0])
        for n in range(1, 11):
            await bus.publish(Probe(n=n))  # never raises: the unbounded queue takes every event
    finally:
        release.set()
    await wait_until(lambda: len(handled) >= 4 and len(everything) == 11)
    await asyncio.sleep(0.3)
    # a quorum queue checks the limit before it enqueues, so it holds max_length + 1 at most
    kept = len(handled) - 1
    assert kept in (3, 4)
    assert handled == list(range(kept + 1)), "the oldest waiting events are kept, the newest refused"
    assert refused(EVENTS_EXCHANGE, "contract.probe") - before == 10 - kept
    assert sorted(everything) == list(range(11))


async def test_full_command_queue_refuses_the_command_with_queue_full(harness: Harness, unique: str) -> None:
    release = asyncio.Event()
    handled: list[str] = []

    async def slow(message: DoWork, context: MessageContext) -> None:
        handled.append(message.job)
        await release.wait()

    bus = await harness.bus()
    await bus.consume(
        Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": slow}, prefetch=1, max_length=2)
    )
    before = refused(COMMANDS_EXCHANGE, unique)
    try:
        await bus.send(DoWork(job="held"), to=unique)
        await wait_until(lambda: handled == ["held"])
        accepted = []
        with pytest.raises(QueueFull):
            for n in range(4):  # a quorum queue takes max_length + 1 before it refuses
                await bus.send(DoWork(job=f"waits-{n}"), to=unique)
                accepted.append(f"waits-{n}")
        assert len(accepted) in (2, 3)
        assert refused(COMMANDS_EXCHANGE, unique) - before == 1
    finally:
        release.set()
    await wait_until(lambda: len(handled) == 1 + len(accepted))
    await asyncio.sleep(0.3)
    assert handled == ["held", *accepted]
