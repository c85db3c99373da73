"""One contract for every Echo sink: the promises of :class:`workers.echo.sinks.base.Sink`.

Each test runs on Elasticsearch's bulk API, Splunk's HTTP Event Collector and the CloudEvents REST
sink (each against the local server of ``tests/integration/echo/sink_servers.py`` that speaks its
wire format, as none of those systems can be installed here) and on the in-process twin
:class:`~workers.echo.sinks.memory.MemorySink`. Every sink answers one outcome per event, in
order; raises ``SinkUnavailable`` while its system is away, having stored nothing; and delivers
every event when the same batch is sent again afterwards. A new sink is one more ``Harness``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from bus import Envelope
from gennaker.outbound import OutboundClient
from schemas.echo_sinks import ElasticsearchSink, RestSink, SplunkSink
from tests.integration.echo.sink_servers import (
    FakeCloudEventsReceiver,
    FakeElasticsearch,
    FakeSplunk,
    Recorder,
    serve,
)
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.echo.sinks.base import Sink
from workers.echo.sinks.memory import MemorySink
from workers.echo.sinks.outcome import DELIVERED, SinkUnavailable
from workers.echo.sinks.runner import build_sink

SINKS = ["elasticsearch", "splunk", "rest", "memory"]


class Harness:
    """A sink and a way to take its system away and to see what reached it."""

    def __init__(self, sink: Sink, recorder: Recorder | None = None, twin: MemorySink | None = None) -> None:
        self.sink = sink
        self.recorder = recorder
        self.twin = twin

    def away(self, away: bool) -> None:
        if self.twin is not None:
            self.twin.outage = away
        else:
            assert self.recorder is not None
            self.recorder.outage = away

    def arrived(self) -> set[str]:
        if self.twin is not None:
            return set(self.twin.events)
        assert self.recorder is not None
        return set(self.recorder.arrived)


@contextlib.asynccontextmanager
async def open_harness(kind: str) -> AsyncIterator[Harness]:
    if kind == "memory":
        twin = MemorySink("contract")
        yield Harness(twin, twin=twin)
        return
    server: Recorder
    if kind == "elasticsearch":
        server = elastic = FakeElasticsearch()
        app = elastic.app()
    elif kind == "splunk":
        server = splunk = FakeSplunk()
        app = splunk.app()
    else:
        server = receiver = FakeCloudEventsReceiver()
        app = receiver.app()
    async with serve(app) as url:
        if kind == "elasticsearch":
            sink = build_sink(ElasticsearchSink(name="contract", url=url, patterns=("#",)))
        elif kind == "splunk":
            sink = build_sink(SplunkSink(name="contract", url=url, token="hec-token", patterns=("#",)))
        else:
            sink = build_sink(RestSink(name="contract", url=f"{url}/events", patterns=("#",)))
        yield Harness(sink, recorder=server)


@pytest.fixture(params=SINKS)
async def sink(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Each contract test runs once per sink."""
    async with open_harness(request.param) as harness:
        yield harness


@pytest.fixture
async def session() -> AsyncIterator[OutboundClient]:
    client = OutboundClient(LOOPBACK_TEST_SERVERS)
    try:
        yield client
    finally:
        await client.close()


def batch(size: int) -> list[Envelope]:
    return [
        Envelope(source="/contract", type="io.gennaker.test.thing.happened.v1", subject="s", data={"n": n})
        for n in range(size)
    ]


async def test_every_event_is_answered_in_order_and_arrives(sink: Harness, session: OutboundClient) -> None:
    events = batch(5)
    outcomes = await sink.sink.send(session, events)
    assert outcomes == [DELIVERED] * 5
    assert sink.arrived() == {event.id for event in events}


async def test_a_system_away_raises_unavailable_and_the_same_batch_arrives_later(
    sink: Harness, session: OutboundClient
) -> None:
    events = batch(3)
    sink.away(True)
    with pytest.raises(SinkUnavailable):
        await sink.sink.send(session, events)
    assert sink.arrived() == set()
    sink.away(False)
    assert await sink.sink.send(session, events) == [DELIVERED] * 3
    assert sink.arrived() == {event.id for event in events}


async def test_an_empty_batch_is_answered_with_no_outcomes(sink: Harness, session: OutboundClient) -> None:
    assert await sink.sink.send(session, []) == []
