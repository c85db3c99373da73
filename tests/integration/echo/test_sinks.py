"""Echo's sinks deliver every event once, through outages, on MemoryBus and on RabbitMQ.

Each test runs a sink (:class:`workers.echo.sinks.SinkRunner`, as Echo runs it in the background)
against a local server speaking Elasticsearch's bulk API, Splunk's HEC or the CloudEvents HTTP
binding (:mod:`tests.integration.echo.sink_servers`), publishes events onto ``gennaker.events``
under a routing key no other test uses, and counts what arrived by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aiohttp import web

from bus import Bus, Envelope, MemoryBus, RetryPolicy
from bus.amqp import AmqpBus
from bus.dead_letter import QUEUE_HEADER
from bus.endpoint import DEAD_LETTER_QUEUE
from schemas.echo_sinks import ElasticsearchSink, RestSink, SinkConfig, SplunkSink
from tests.dead_letters import dead_lettered
from tests.integration.echo.sink_servers import (
    FakeCloudEventsReceiver,
    FakeElasticsearch,
    FakeSplunk,
    Recorder,
    serve,
)
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.echo.sinks import SinkRunner, sink_service

pytestmark = pytest.mark.timeout(60)

FAST = {"batch_size": 20, "batch_seconds": 0.05, "retry_base_delay": 0.05, "retry_max_delay": 0.2}
ROOT = Path(__file__).resolve().parents[3]
RETRY = RetryPolicy(max_attempts=5, base_delay=0.1, factor=2.0, max_delay=1.0)


class Buses:
    """Makes buses of one kind; on RabbitMQ each is a connection of its own, as a restarted Echo's."""

    def __init__(self, kind: str, url: str, unique: str) -> None:
        self.kind = kind
        self.url = url
        self.unique = unique
        self.memory = MemoryBus(source="/test", retry=RETRY)
        self.opened: list[Bus] = []

    async def new(self) -> Bus:
        if self.kind == "memory":
            return self.memory
        bus = await AmqpBus.connect(self.url, source="/test", retry=RETRY)
        self.opened.append(bus)
        return bus

    async def close(self) -> None:
        for bus in self.opened:
            await bus.close()
        await self.memory.close()
        if self.kind == "amqp":
            await purge(self.url, f"gennaker.{sink_service(self.unique)}.events")


async def purge(url: str, queue: str) -> None:
    """Delete the sink's queue and its dead letters, so runs never pile up on the broker."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        dead = await channel.get_queue(DEAD_LETTER_QUEUE, ensure=False)
        while (message := await dead.get(no_ack=False, fail=False)) is not None:
            origin = (message.headers or {}).get(QUEUE_HEADER, "")
            if (origin.decode() if isinstance(origin, bytes) else str(origin)) == queue:
                await message.ack()
        await channel.close()


@pytest.fixture(params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)])
async def buses(request: pytest.FixtureRequest, amqp_url: str, unique: str) -> AsyncIterator[Buses]:
    made = Buses(request.param, amqp_url, unique)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def memory_bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus(source="/test", retry=RETRY)
    try:
        yield bus
    finally:
        await bus.close()


class RunningSink:
    """A sink running as Echo's background loop does; ``restart`` is a new Echo on a new connection."""

    def __init__(self, config: SinkConfig, new_bus: Callable[[], Awaitable[Bus]]) -> None:
        self.config = config
        self.new_bus = new_bus
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        bus = await self.new_bus()
        self.task = asyncio.create_task(SinkRunner(self.config, LOOPBACK_TEST_SERVERS, drain_seconds=0.5).run(bus))
        await asyncio.sleep(0.2)  # let it declare and bind its queue before events are published

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@contextlib.asynccontextmanager
async def running(config: SinkConfig, new_bus: Callable[[], Awaitable[Bus]]) -> AsyncIterator[RunningSink]:
    sink = RunningSink(config, new_bus)
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()


def event(unique: str, n: int, **data: Any) -> Envelope:
    return Envelope(source="/test", type="io.gennaker.test.thing.happened.v1", subject=unique, data={"n": n, **data})


async def publish(bus: Bus, unique: str, envelopes: list[Envelope]) -> None:
    for envelope in envelopes:
        await bus.publish_envelope(envelope, routing_key=f"{unique}.thing.happened")


async def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout}s")
        await asyncio.sleep(0.02)


async def outage_then_recovery(buses: Buses, server: Recorder, sink: RunningSink, envelopes: list[Envelope]) -> None:
    """Publish while the server answers 503; on RabbitMQ restart Echo mid-outage; then recover."""
    server.outage = True
    publisher = await buses.new()
    await publish(publisher, buses.unique, envelopes)
    await wait_for(lambda: server.refused_503 >= 3, "the sink kept trying during the outage")
    if buses.kind == "amqp":
        await sink.restart()  # the events wait in RabbitMQ, not in the stopped process
        await wait_for(lambda: server.refused_503 >= 5, "the restarted sink tried again")
    assert not server.arrived
    server.outage = False
    await server.until_count(len(envelopes))
    await asyncio.sleep(0.3)  # anything sent twice would arrive by now


async def test_elasticsearch_outage_every_event_arrives_once(buses: Buses, unique: str) -> None:
    elastic = FakeElasticsearch()
    async with serve(elastic.app()) as url:
        config = ElasticsearchSink(name=unique, url=url, patterns=(f"{unique}.#",), **FAST)
        async with running(config, buses.new) as sink:
            envelopes = [event(unique, n) for n in range(120)]
            await outage_then_recovery(buses, elastic, sink, envelopes)
    assert set(elastic.documents) == {envelope.id for envelope in envelopes}
    assert max(elastic.deliveries.values()) == 1
    today = datetime.now(UTC).strftime("gennaker-events-%Y.%m.%d")
    assert set(elastic.indices.values()) == {today}
    assert elastic.content_types == {"application/x-ndjson"}
    first = envelopes[0]
    assert elastic.documents[first.id]["data"] == {"n": 0}
    assert elastic.documents[first.id]["type"] == first.type


async def test_splunk_outage_with_acknowledgement_every_event_arrives_once(buses: Buses, unique: str) -> None:
    splunk = FakeSplunk(token="s3cret", ack_polls=2)
    async with serve(splunk.app()) as url:
        config = SplunkSink(name=unique, url=url, token="s3cret", ack=True, patterns=(f"{unique}.#",), **FAST)
        async with running(config, buses.new) as sink:
            envelopes = [event(unique, n) for n in range(80)]
            await outage_then_recovery(buses, splunk, sink, envelopes)
    assert sorted(splunk.deliveries) == sorted(envelope.id for envelope in envelopes)
    assert max(splunk.deliveries.values()) == 1
    assert len(splunk.channels) >= 1
    hec = splunk.events[0]
    assert hec["sourcetype"] == "gennaker:cloudevent" and hec["source"] == "/test"
    assert isinstance(hec["time"], float) and hec["event"]["specversion"] == "1.0"
    # the CloudEvent id as an indexed field, so a search can drop the repeats a failure causes
    assert all(event["fields"]["cloudevent_id"] == event["event"]["id"] for event in splunk.events)
    assert {event["fields"]["cloudevent_source"] for event in splunk.events} == {"/test"}
    assert None not in splunk.keys, "every request (events and acknowledgement polls) carries an Idempotency-Key"


async def test_elasticsearch_item_errors_retry_or_dead_letter_only_that_item(
    memory_bus: MemoryBus, unique: str
) -> None:
    elastic = FakeElasticsearch()
    envelopes = [event(unique, n, bad=(n == 3)) for n in range(8)]
    elastic.throttle_once = {envelopes[5].id}

    async def same_bus() -> Bus:
        return memory_bus

    async with serve(elastic.app()) as url:
        config = ElasticsearchSink(name=unique, url=url, patterns=(f"{unique}.#",), index="events-%Y", **FAST)
        async with running(config, same_bus):
            await publish(memory_bus, unique, envelopes)
            await elastic.until_count(7)
            await dead_lettered(memory_bus, 1, "the bad event was dead-lettered")
    assert set(elastic.documents) == {e.id for n, e in enumerate(envelopes) if n != 3}
    assert max(elastic.deliveries.values()) == 1
    [letter] = await memory_bus.dead_letters()
    assert letter.id == envelopes[3].id
    assert letter.queue == f"gennaker.{sink_service(unique)}.events"
    assert "mapper_parsing_exception" in letter.reason
    assert letter.attempts == 1
    assert set(elastic.indices.values()) == {datetime.now(UTC).strftime("events-%Y")}


async def test_splunk_invalid_event_is_dead_lettered_and_the_rest_arrive_once(
    memory_bus: MemoryBus, unique: str
) -> None:
    splunk = FakeSplunk()
    envelopes = [event(unique, n, bad=(n == 2)) for n in range(6)]

    async def same_bus() -> Bus:
        return memory_bus

    async with serve(splunk.app()) as url:
        config = SplunkSink(name=unique, url=url, token="hec-token", patterns=(f"{unique}.#",), **FAST)
        async with running(config, same_bus):
            await publish(memory_bus, unique, envelopes)
            await splunk.until_count(5)
            await dead_lettered(memory_bus, 1, "the invalid event was dead-lettered")
            await asyncio.sleep(0.2)
    assert sorted(splunk.deliveries) == sorted(e.id for n, e in enumerate(envelopes) if n != 2)
    assert max(splunk.deliveries.values()) == 1
    [letter] = await memory_bus.dead_letters()
    assert letter.id == envelopes[2].id and "Invalid data format" in letter.reason


async def test_splunk_wrong_token_keeps_events_waiting_until_it_is_fixed(memory_bus: MemoryBus, unique: str) -> None:
    splunk = FakeSplunk(token="old")

    async def same_bus() -> Bus:
        return memory_bus

    async with serve(splunk.app()) as url:
        config = SplunkSink(name=unique, url=url, token="new", patterns=(f"{unique}.#",), **FAST)
        async with running(config, same_bus):
            envelopes = [event(unique, n) for n in range(5)]
            await publish(memory_bus, unique, envelopes)
            await wait_for(lambda: splunk.requests >= 3, "the sink kept trying")
            assert not splunk.arrived and not await memory_bus.dead_letters()
            splunk.token = "new"  # the operator rotates the token on Splunk's side
            await splunk.until_count(5)


@pytest.mark.parametrize("mode", ["structured", "batch"])
async def test_rest_sink_posts_cloudevents_in_either_mode(memory_bus: MemoryBus, unique: str, mode: str) -> None:
    receiver = FakeCloudEventsReceiver()

    async def same_bus() -> Bus:
        return memory_bus

    async with serve(receiver.app()) as url:
        config = RestSink(name=unique, url=f"{url}/events", mode=mode, patterns=(f"{unique}.#",), **FAST)
        async with running(config, same_bus):
            envelopes = [event(unique, n) for n in range(30)]
            receiver.outage = True
            await publish(memory_bus, unique, envelopes)
            await wait_for(lambda: receiver.refused_503 >= 2, "the sink kept trying")
            receiver.outage = False
            await receiver.until_count(30)
            await asyncio.sleep(0.2)
    assert max(receiver.deliveries.values()) == 1
    expected = "application/cloudevents+json" if mode == "structured" else "application/cloudevents-batch+json"
    assert set(receiver.content_types) == {expected}
    assert [e["data"]["n"] for e in receiver.events] == list(range(30)), "order is kept"
    if mode == "batch":
        assert len(receiver.content_types) < 30, "events were batched"


async def test_sink_only_takes_events_its_patterns_match(memory_bus: MemoryBus, unique: str) -> None:
    receiver = FakeCloudEventsReceiver()

    async def same_bus() -> Bus:
        return memory_bus

    async with serve(receiver.app()) as url:
        config = RestSink(name=unique, url=f"{url}/events", patterns=(f"{unique}.stage.*",), **FAST)
        async with running(config, same_bus):
            wanted = Envelope(source="/test", type="io.gennaker.test.stage.completed.v1", data={"n": 1})
            await memory_bus.publish_envelope(wanted, routing_key=f"{unique}.stage.completed")
            await publish(memory_bus, unique, [event(unique, 2)])
            await receiver.until_count(1)
            await asyncio.sleep(0.2)
    assert list(receiver.arrived) == [wanted.id]


class SlowThenDown(FakeSplunk):
    """Takes its first request after ``slow`` seconds (a sink then holds more events than that batch),
    then answers 503 until ``outage`` is cleared."""

    def __init__(self, token: str, slow: float) -> None:
        super().__init__(token)
        self.slow = slow
        self.recovered = False

    async def collect(self, request: web.Request) -> web.Response:
        if self.requests == 0:
            await asyncio.sleep(self.slow)
        elif not self.recovered:
            self.outage = True
        return await super().collect(request)


@pytest.mark.amqp
async def test_a_sink_killed_mid_batch_redelivers_what_it_had_not_acknowledged_and_nothing_it_had(
    amqp_url: str, unique: str
) -> None:
    """A delivered batch is acknowledged with one ``multiple`` ack while the next ones are in hand: after
    kill -9 in the middle of one, every event not acknowledged comes again, and the delivered batch does not."""
    splunk = SlowThenDown("t0ken", slow=0.5)
    buses = Buses("amqp", amqp_url, unique)
    victim: subprocess.Popen[str] | None = None
    try:
        async with serve(splunk.app()) as url:
            arguments = [amqp_url, unique, f"{unique}.#", url, "t0ken", "10"]
            victim = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.echo.sink_process", *arguments],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            assert victim.stdout is not None
            ready = await asyncio.wait_for(asyncio.to_thread(victim.stdout.readline), 30)
            assert ready.strip() == "ready", ready
            envelopes = [event(unique, n) for n in range(25)]  # prefetch 20: two batches in hand at once
            await publish(await buses.new(), unique, envelopes)
            await wait_for(lambda: splunk.refused_503 >= 2, "the sink delivered a batch and kept the next in flight")
            delivered = set(splunk.arrived)
            assert 0 < len(delivered) < len(envelopes)
            victim.send_signal(signal.SIGKILL)
            await asyncio.to_thread(victim.wait)
            splunk.recovered, splunk.outage = True, False
            config = SplunkSink(name=unique, url=url, token="t0ken", patterns=(f"{unique}.#",), **FAST)
            async with running(config, buses.new):
                await splunk.until_count(len(envelopes))
                await asyncio.sleep(0.3)  # anything sent twice would arrive by now
    finally:
        if victim is not None:
            if victim.poll() is None:
                victim.kill()
                victim.wait()
            if victim.stdout is not None:
                victim.stdout.close()
        await buses.close()
    assert sorted(splunk.deliveries) == sorted(envelope.id for envelope in envelopes)
    assert max(splunk.deliveries.values()) == 1, "an acknowledged batch came again"
