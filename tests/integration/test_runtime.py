"""The worker runtime on a MemoryBus: pings answered, life announced, in-flight work finished on stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bus import BusError, Endpoint, Envelope, MemoryBus, MessageContext
from bus.service import Service, ServiceHost
from schemas import parse_cloudevent_type
from schemas.system import Ping, Pong
from tests.contract.messages import Answer, AskSomething, DoWork


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    memory = MemoryBus(source="/test")
    yield memory
    await memory.close()


async def lifecycle_events(bus: MemoryBus) -> list[Envelope]:
    """Start collecting ``system.worker.*`` events; the returned list fills as they arrive."""
    seen: list[Envelope] = []

    async def collect(envelope: Envelope, context: MessageContext) -> None:
        seen.append(envelope)

    await bus.consume(Endpoint(service="watcher", kind="events", patterns=("system.worker.*",), raw_handler=collect))
    return seen


async def until(condition: object, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not callable(condition) or not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_ping_is_answered_with_service_version_and_instance(bus: MemoryBus) -> None:
    host = ServiceHost(bus, Service("svc", "1.2.3", []))
    async with host:
        reply = await bus.ask(Ping(), to="svc", timeout=2)
    assert reply == Pong(service="svc", version="1.2.3", instance=host.instance)
    hostname, pid, short = host.instance.split(":")
    assert hostname and pid.isdigit() and len(short) == 6


async def test_each_host_is_its_own_instance(bus: MemoryBus) -> None:
    first, second = ServiceHost(bus, Service("svc", "1", [])), ServiceHost(bus, Service("svc", "1", []))
    assert first.instance != second.instance


async def test_ping_joins_the_service_own_queries_endpoint(bus: MemoryBus) -> None:
    async def answer(query: AskSomething, context: MessageContext) -> Answer:
        return Answer(text=f"re: {query.question}")

    queries = Endpoint(service="svc", kind="queries", handlers={AskSomething.message_type: answer})
    host = ServiceHost(bus, Service("svc", "1", [queries]))
    endpoints = host.endpoints()
    assert [endpoint.kind for endpoint in endpoints] == ["queries"]
    assert set(endpoints[0].handlers) == {AskSomething.message_type, Ping.message_type}
    async with host:
        assert await bus.ask(AskSomething(question="hi"), to="svc", timeout=2) == Answer(text="re: hi")
        assert isinstance(await bus.ask(Ping(), to="svc", timeout=2), Pong)


async def test_started_and_stopped_are_published(bus: MemoryBus) -> None:
    seen = await lifecycle_events(bus)
    host = ServiceHost(bus, Service("svc", "2.0", []))
    await host.start()
    assert host.running
    await until(lambda: len(seen) == 1)
    await host.stop()
    assert not host.running
    await until(lambda: len(seen) == 2)
    started, stopped = seen
    assert parse_cloudevent_type(started.type) == ("system.worker.started", 1)
    assert started.data == {"service": "svc", "version": "2.0", "instance": host.instance}
    assert started.subject == "svc"
    assert parse_cloudevent_type(stopped.type) == ("system.worker.stopped", 1)
    assert stopped.data == {"service": "svc", "instance": host.instance, "reason": "graceful shutdown"}


async def test_start_and_stop_are_idempotent(bus: MemoryBus) -> None:
    seen = await lifecycle_events(bus)
    host = ServiceHost(bus, Service("svc", "1", []))
    await host.start()
    await host.start()
    await host.stop()
    await host.stop()
    await asyncio.sleep(0.05)
    assert len(seen) == 2


async def test_stop_waits_for_the_handler_in_flight(bus: MemoryBus) -> None:
    seen = await lifecycle_events(bus)
    began, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow(command: DoWork, context: MessageContext) -> None:
        began.set()
        await release.wait()
        finished.set()

    commands = Endpoint(service="svc", kind="commands", handlers={DoWork.message_type: slow})
    host = ServiceHost(bus, Service("svc", "1", [commands]))
    await host.start()
    await bus.send(DoWork(job="long"), to="svc")
    await asyncio.wait_for(began.wait(), 2)
    stopping = asyncio.create_task(host.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done(), "stop returned while a handler was still running"
    assert len(seen) == 1, "stopped was announced before the handler finished"
    release.set()
    await asyncio.wait_for(stopping, 2)
    assert finished.is_set()
    await until(lambda: len(seen) == 2)
    assert bus.depth("gennaker.svc.commands") == 0, "the in-flight command was acknowledged, not requeued"


async def test_stopped_host_takes_no_more_messages(bus: MemoryBus) -> None:
    handled: list[str] = []

    async def record(command: DoWork, context: MessageContext) -> None:
        handled.append(command.job)

    commands = Endpoint(service="svc", kind="commands", handlers={DoWork.message_type: record})
    async with ServiceHost(bus, Service("svc", "1", [commands])):
        pass
    await bus.send(DoWork(job="late"), to="svc")
    await asyncio.sleep(0.05)
    assert handled == []
    assert bus.depth("gennaker.svc.commands") == 1


async def test_a_failed_start_stops_what_it_started(bus: MemoryBus) -> None:
    class FailingEvents(MemoryBus):
        async def consume(self, endpoint: Endpoint):
            if endpoint.kind == "events":
                raise BusError("cannot bind")
            return await super().consume(endpoint)

    failing = FailingEvents()
    events = Endpoint(service="svc", kind="events", patterns=("x.#",), handlers={})
    host = ServiceHost(failing, Service("svc", "1", [events]))
    with pytest.raises(BusError, match="cannot bind"):
        await host.start()
    assert not host.running
    assert failing._consumptions == []
    await failing.close()


async def test_stop_on_a_closed_bus_does_not_raise(bus: MemoryBus) -> None:
    host = ServiceHost(bus, Service("svc", "1", []))
    await host.start()
    await bus.close()
    await host.stop()
    assert not host.running


def test_a_service_declares_one_endpoint_per_kind() -> None:
    with pytest.raises(ValueError, match="two commands endpoints"):
        Service("svc", "1", [Endpoint(service="svc", kind="commands"), Endpoint(service="svc", kind="commands")])


def test_a_service_declares_only_its_own_endpoints() -> None:
    with pytest.raises(ValueError, match="endpoint of service 'other'"):
        Service("svc", "1", [Endpoint(service="other", kind="commands")])


def test_the_runtime_owns_ping(bus: MemoryBus) -> None:
    async def mine(query: Ping, context: MessageContext) -> Pong:
        return Pong(service="svc", version="x", instance="x")

    queries = Endpoint(service="svc", kind="queries", handlers={Ping.message_type: mine})
    with pytest.raises(ValueError, match=r"must not handle system\.Ping"):
        ServiceHost(bus, Service("svc", "1", [queries])).endpoints()
