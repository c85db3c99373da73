"""Echo's event fan-out: events/s delivered to an Elasticsearch-bulk sink and a Splunk-HEC sink at once,
and the delay from a pipeline event's publish to its arrival at each sink (p50/p99).

No Elasticsearch or Splunk exists on the benchmark machine, so both sinks point at the local aiohttp
servers the tests use (``tests/integration/echo/sink_servers.py``: ``_bulk`` NDJSON with per-item
statuses, HEC with token check); they run in this process, so their parsing cost falls on the same
two cores as Echo's. They keep each event's id and arrival, not its body (``keep=False``): a real
system stores events outside Echo's process, and 40,000 stored bodies would load this process's
garbage collector. The process settles its collector after start-up as a worker does
(:func:`gennaker.collector.settle_after_start`).

Workload: ``orca.stage.completed`` events (the real message, ~0.5 KB envelopes) published onto
``gennaker.events`` under a routing key only this run binds, each sink consuming its own durable,
bounded queue (``SinkRunner``, as Echo runs it) with ``--batch-size`` (500) and ``--batch-seconds``
(0.05).

* **throughput**: ``--events`` published as fast as the bus takes them; timed from the first
  publish until every event has arrived at both servers (events/s = events / that time; each event
  is delivered twice, once per sink).
* **delay**: ``--latency-events`` published one every ``--interval`` seconds; per event, arrival time
  at the server minus the time just before ``publish`` was called (both ``time.perf_counter()``).
* **drain** (``--drain``, RabbitMQ only): the sinks stopped, ``--events`` more wait in their queues;
  timed from starting the sinks again until all arrived. Publishing then costs nothing in the timed
  window, as when another process (Orca) publishes: this is what Echo's consumers alone deliver.

Baselines, same run:

* **direct aiohttp**, same servers: the same events POSTed straight to both servers with the sinks'
  aiohttp client (``OutboundClient``), in bulk requests of the same size at once (throughput), and
  one request per event as it is produced (delay). The sinks add the bus, batching and acknowledgement.
* **RabbitMQ ceiling**, raw aio-pika doing the transport's share of the same work and nothing else:
  the same bodies published with confirms in the same chunks to a topic exchange bound to two
  quorum queues bounded like the sinks', each consumed with the sinks' prefetch and acknowledged as
  the sinks acknowledge (one ``basic.ack`` with ``multiple`` per ``--batch-size`` events, the last
  partial batch after ``--batch-seconds``). No sink can deliver faster than its broker hands it
  events, so Echo's RabbitMQ figure is read against this one. It runs in ``--rounds`` rounds
  alternating with Echo's (ceiling first, then Echo first, …), so load from anything else on the
  machine falls on both alike; the median of each round's ratio and its spread are printed.

CPU per event, beside each RabbitMQ figure: the CPU time this process spent (``cpu_us``: publisher,
consumers, sinks and the fake servers alike, all in this process) and the broker spent (``broker_us``,
read from ``/proc`` when RabbitMQ runs on this machine; it counts whatever else the broker served
meanwhile), divided by the events. On a shared machine these say more than events/s: however quiet
the machine, no run can exceed about 1e6 / cpu_us events/s (this process is one thread on one core),
nor, with 2 cores, 2e6 / (cpu_us + broker_us).

Nothing lost, nothing doubled: every phase counts the events each server stored (``lost``: published
but never stored once all had time to arrive; ``doubled``: stored more than once); the run exits 1
when any is lost or doubled.

    .venv/bin/python benchmarks/echo.py [--events 20000] [--rounds 3] [--skip-amqp] [--amqp-url URL]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aio_pika  # noqa: E402
import structlog  # noqa: E402
from ulid import ULID  # noqa: E402

from bus import Bus, Envelope, MemoryBus  # noqa: E402
from bus.amqp import AmqpBus  # noqa: E402
from gennaker.collector import settle_after_start  # noqa: E402
from gennaker.outbound import OutboundClient  # noqa: E402
from schemas.echo_sinks import ElasticsearchSink, SinkConfig, SplunkSink  # noqa: E402
from schemas.orca_engine import StageCompleted  # noqa: E402
from schemas.outbound import AllowedRequest, OutboundSettings  # noqa: E402
from tests.integration.echo.sink_servers import FakeElasticsearch, FakeSplunk, serve  # noqa: E402
from workers.echo.sinks import SinkRunner, sink_service  # noqa: E402

LOCAL_SERVERS = OutboundSettings(
    allowed_requests=(AllowedRequest(url_prefix="http://127.0.0.1:*", http_methods=("POST", "GET")),)
)
"""The benchmark's sink servers listen on 127.0.0.1, which the outbound policy refuses unless allowed."""
from workers.echo.sinks.elasticsearch import ElasticsearchBulk  # noqa: E402
from workers.echo.sinks.splunk import SplunkHec  # noqa: E402

TOKEN = "bench-token"


def broker_pid() -> int | None:
    """The local RabbitMQ's Erlang VM (``beam.smp``), or None when the broker runs elsewhere."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "beam.smp" and b"rabbit" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
    return None


def broker_cpu(pid: int | None) -> float:
    """CPU seconds the broker has used so far (0 when it is not local)."""
    if pid is None:
        return 0.0
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


@contextlib.contextmanager
def cpu_per_event(figures: dict[str, float], events: int) -> Iterator[None]:
    """Put the CPU microseconds per event this process and the broker spent in the block into ``figures``."""
    pid = broker_pid()
    process, broker = time.process_time(), broker_cpu(pid)
    yield
    figures["cpu_us"] = (time.process_time() - process) / events * 1e6
    if pid is not None:
        figures["broker_us"] = (broker_cpu(pid) - broker) / events * 1e6


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def make_events(bus: Bus, count: int, run: str) -> list[Envelope]:
    """``count`` real ``orca.stage.completed`` envelopes."""
    return [
        bus.envelope(
            StageCompleted(
                execution_id=f"{run}-{n // 10}",
                application="billing",
                stage_id=str(ULID()),
                ref_id=str(n % 10),
                stage_type="evaluateVariables",
                name=f"stage {n % 10}",
                status="SUCCEEDED",
            ),
            subject=f"{run}-{n // 10}",
        )
        for n in range(count)
    ]


def fresh(envelope: Envelope) -> Envelope:
    """The same event stamped now (the sinks index by the event's time)."""
    return envelope.model_copy(update={"time": Envelope(source="/", type="x").time})


async def wait_all(servers: list[FakeElasticsearch | FakeSplunk], count: int, timeout: float = 120.0) -> None:
    """Until ``count`` distinct events arrived at every server, or ``timeout`` passed (the loss is then
    counted by :func:`lost_and_doubled`)."""
    deadline = time.perf_counter() + timeout
    while any(len(server.arrived) < count for server in servers):
        if time.perf_counter() > deadline:
            return
        await asyncio.sleep(0.005)


def lost_and_doubled(servers: list[FakeElasticsearch | FakeSplunk], ids: list[str]) -> dict[str, float]:
    """Events published but stored by some server not at all (``lost``) or more than once (``doubled``)."""
    lost = sum(1 for server in servers for event_id in ids if event_id not in server.arrived)
    doubled = sum(count - 1 for server in servers for count in server.deliveries.values() if count > 1)
    return {"lost": lost, "doubled": doubled}


@contextlib.asynccontextmanager
async def sinks_on(bus: Bus, configs: list[SinkConfig], settle: float = 0.5) -> AsyncIterator[None]:
    """The sinks running as Echo runs them, ``settle`` seconds after they started (queues declared)."""
    tasks = [asyncio.create_task(SinkRunner(config, LOCAL_SERVERS).run(bus)) for config in configs]
    await asyncio.sleep(settle)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def through_sinks(
    new_bus: Callable[[], Awaitable[Bus]], args: argparse.Namespace, label: str
) -> dict[str, float]:
    """Throughput and delay through two sinks on one bus kind."""
    run = f"bench{str(ULID()).lower()[-10:]}"
    elastic, splunk = FakeElasticsearch(keep=False), FakeSplunk(TOKEN, keep=False)
    figures: dict[str, float] = {}
    async with serve(elastic.app()) as es_url, serve(splunk.app()) as hec_url:
        bus = await new_bus()
        common: dict[str, Any] = {
            "patterns": (f"{run}.#",),
            "batch_size": args.batch_size,
            "batch_seconds": args.batch_seconds,
        }
        configs: list[SinkConfig] = [
            ElasticsearchSink(name=f"{run}-es", url=es_url, **common),
            SplunkSink(name=f"{run}-hec", url=hec_url, token=TOKEN, **common),
        ]
        try:
            async with sinks_on(bus, configs):
                events = make_events(bus, args.events, run)
                with cpu_per_event(figures, len(events)):
                    started = time.perf_counter()
                    for chunk in range(0, len(events), 200):
                        await asyncio.gather(
                            *(
                                bus.publish_envelope(e, routing_key=f"{run}.orca.stage.completed")
                                for e in events[chunk : chunk + 200]
                            )
                        )
                    published = time.perf_counter() - started
                    await wait_all([elastic, splunk], len(events))
                    elapsed = time.perf_counter() - started
                figures["events_per_s"] = len(events) / elapsed
                figures["publish_per_s"] = len(events) / published

                slow = make_events(bus, args.latency_events, run)
                sent_at: dict[str, float] = {}
                for envelope in slow:
                    envelope = fresh(envelope)
                    sent_at[envelope.id] = time.perf_counter()
                    await bus.publish_envelope(envelope, routing_key=f"{run}.orca.stage.completed")
                    await asyncio.sleep(args.interval)
                await wait_all([elastic, splunk], len(events) + len(slow))
                await asyncio.sleep(args.batch_seconds * 4)  # time for a doubled delivery to show
                figures.update(lost_and_doubled([elastic, splunk], [e.id for e in events] + list(sent_at)))
                for name, server in (("es", elastic), ("hec", splunk)):
                    delays = [(server.arrived[i] - t) * 1000 for i, t in sent_at.items() if i in server.arrived]
                    figures[f"{name}_p50_ms"] = statistics.median(delays)
                    figures[f"{name}_p99_ms"] = percentile(delays, 0.99)
            if args.drain and isinstance(bus, AmqpBus):
                # the sinks are stopped; their durable queues fill, then the sinks start and drain them
                waiting = make_events(bus, args.events, run)
                for chunk in range(0, len(waiting), 200):
                    await asyncio.gather(
                        *(
                            bus.publish_envelope(e, routing_key=f"{run}.orca.stage.completed")
                            for e in waiting[chunk : chunk + 200]
                        )
                    )
                drained: dict[str, float] = {}
                with cpu_per_event(drained, len(waiting)):
                    started = time.perf_counter()
                    async with sinks_on(bus, configs, settle=0):
                        await wait_all([elastic, splunk], len(events) + len(sent_at) + len(waiting))
                        drained["events_per_s"] = len(waiting) / (time.perf_counter() - started)
                        await asyncio.sleep(args.batch_seconds * 4)
                figures.update({f"drain_{name}": value for name, value in drained.items()})
                ids = [e.id for e in events] + list(sent_at) + [e.id for e in waiting]
                figures.update(lost_and_doubled([elastic, splunk], ids))
        finally:
            if isinstance(bus, AmqpBus):
                for config in configs:
                    with contextlib.suppress(Exception):
                        await bus._channel_or_raise().queue_delete(f"gennaker.{sink_service(config.name)}.events")
            await bus.close()
    print(f"  {label}: done", flush=True)
    return figures


async def baseline(args: argparse.Namespace) -> dict[str, float]:
    """The same events POSTed straight to both servers, through the sinks' own HTTP client."""
    elastic, splunk = FakeElasticsearch(keep=False), FakeSplunk(TOKEN, keep=False)
    figures: dict[str, float] = {}
    maker = MemoryBus(source="/bench")
    async with serve(elastic.app()) as es_url, serve(splunk.app()) as hec_url:
        client = OutboundClient(LOCAL_SERVERS)
        try:
            es = ElasticsearchBulk(ElasticsearchSink(name="base-es", url=es_url))
            hec = SplunkHec(SplunkSink(name="base-hec", url=hec_url, token=TOKEN))
            events = make_events(maker, args.events, "base")
            started = time.perf_counter()
            for chunk in range(0, len(events), args.batch_size):
                batch = events[chunk : chunk + args.batch_size]
                await asyncio.gather(es.send(client, batch), hec.send(client, batch))
            await wait_all([elastic, splunk], len(events))
            figures["events_per_s"] = len(events) / (time.perf_counter() - started)

            sent_at: dict[str, float] = {}
            for envelope in make_events(maker, args.latency_events, "base-slow"):
                envelope = fresh(envelope)
                sent_at[envelope.id] = time.perf_counter()
                await asyncio.gather(es.send(client, [envelope]), hec.send(client, [envelope]))
                await asyncio.sleep(args.interval)
            figures.update(lost_and_doubled([elastic, splunk], [e.id for e in events] + list(sent_at)))
            for name, server in (("es", elastic), ("hec", splunk)):
                delays = [(server.arrived[i] - t) * 1000 for i, t in sent_at.items()]
                figures[f"{name}_p50_ms"] = statistics.median(delays)
                figures[f"{name}_p99_ms"] = percentile(delays, 0.99)
        finally:
            await client.close()
    await maker.close()
    return figures


async def rabbitmq_ceiling(args: argparse.Namespace, *, drain: bool = False) -> dict[str, float]:
    """Events/s raw aio-pika takes from publish to two consumers acknowledging in batches, the sinks'
    queue shape, prefetch and acknowledgement; with the CPU per event (:func:`cpu_per_event`).

    With ``drain``, every event is published first and the consumers start afterwards: the events/s
    the two consumers alone take from full queues."""
    run = f"echo-ceiling-{os.getpid()}-{str(ULID()).lower()[-8:]}"
    bodies = [e.to_bytes() for e in make_events(MemoryBus(source="/bench"), args.events, run)]
    prefetch = min(2 * args.batch_size, 65_535)
    connection = await aio_pika.connect(args.amqp_url)
    try:
        publishing = await connection.channel(publisher_confirms=True)
        exchange = await publishing.declare_exchange(run, aio_pika.ExchangeType.TOPIC, auto_delete=True)
        done = asyncio.Event()
        consumers: list[BatchAcknowledging] = []
        queues: list[aio_pika.abc.AbstractQueue] = []

        def all_acknowledged() -> None:
            if all(consumer.count >= len(bodies) and consumer.last is None for consumer in consumers):
                done.set()

        for n in range(2):
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=prefetch)
            arguments: dict[str, Any] = {
                "x-queue-type": "quorum",
                "x-max-length": 100_000,
                "x-overflow": "reject-publish",
            }
            queue = await channel.declare_queue(f"{run}-{n}", durable=True, arguments=arguments)
            await queue.bind(exchange, routing_key="#")
            queues.append(queue)
            consumers.append(BatchAcknowledging(args.batch_size, args.batch_seconds, len(bodies), all_acknowledged))

        async def publish_all() -> None:
            for chunk in range(0, len(bodies), 200):
                await asyncio.gather(
                    *(
                        exchange.publish(
                            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=run
                        )
                        for body in bodies[chunk : chunk + 200]
                    )
                )

        if drain:
            await publish_all()
        figures: dict[str, float] = {}
        with cpu_per_event(figures, len(bodies)):
            started = time.perf_counter()
            for queue, consumer in zip(queues, consumers, strict=True):
                await queue.consume(consumer)
            if not drain:
                await publish_all()
            await asyncio.wait_for(done.wait(), 300)
            figures["events_per_s"] = len(bodies) / (time.perf_counter() - started)
        cleanup = await connection.channel()
        for n in range(2):
            await cleanup.queue_delete(f"{run}-{n}")
        return figures
    finally:
        await connection.close()


class BatchAcknowledging:
    """A consumer of the ceiling: one ``multiple`` ack per ``batch_size`` messages, as the sinks send,
    and one for a partial batch once ``batch_seconds`` passed without it filling."""

    def __init__(self, batch_size: int, batch_seconds: float, total: int, done: Callable[[], None]) -> None:
        self.batch_size, self.batch_seconds, self.total, self.done = batch_size, batch_seconds, total, done
        self.count = 0
        self.last: aio_pika.abc.AbstractIncomingMessage | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.acks: set[asyncio.Task[None]] = set()

    async def __call__(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.count += 1
        self.last = message
        if self.count % self.batch_size == 0:
            await self.flush()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(self.batch_seconds, self.on_timer)

    def on_timer(self) -> None:
        self.timer = None
        task = asyncio.create_task(self.flush())
        self.acks.add(task)
        task.add_done_callback(self.acks.discard)

    async def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        last, self.last = self.last, None
        if last is not None:
            await last.ack(multiple=True)
        if self.count >= self.total:
            self.done()


def per_event(figures: dict[str, float], prefix: str = "") -> str:
    """A phase's events/s and CPU per event, in words."""
    words = f"{figures[prefix + 'events_per_s']:,.0f} events/s, {figures[prefix + 'cpu_us']:,.0f} us CPU per event here"
    if prefix + "broker_us" in figures:
        words += f", {figures[prefix + 'broker_us']:,.0f} us in RabbitMQ"
    return words


def rounds_summary(echo: list[dict[str, float]], ceiling: list[dict[str, float]]) -> dict[str, float]:
    """Echo's RabbitMQ figures over the rounds: median events/s and ratio to the ceiling (with the
    spread of the ratios), median CPU per event of both, median delay p50 and the worst p99, lost
    and doubled summed."""
    ratios = [figures["events_per_s"] / base["events_per_s"] for figures, base in zip(echo, ceiling, strict=True)]
    summary = {
        "events_per_s": statistics.median(f["events_per_s"] for f in echo),
        "publish_per_s": statistics.median(f["publish_per_s"] for f in echo),
        "ceiling_events_per_s": statistics.median(f["events_per_s"] for f in ceiling),
        "ratio_to_ceiling": statistics.median(ratios),
        "ratio_spread": max(ratios) - min(ratios),
        "lost": sum(f["lost"] for f in echo),
        "doubled": sum(f["doubled"] for f in echo),
    }
    for name in ("cpu_us", "broker_us", "drain_events_per_s", "drain_cpu_us", "drain_broker_us"):
        if all(name in f for f in echo + ceiling):
            summary[name] = statistics.median(f[name] for f in echo)
            summary[f"ceiling_{name}"] = statistics.median(f[name] for f in ceiling)
    for name in ("es", "hec"):
        summary[f"{name}_p50_ms"] = statistics.median(f[f"{name}_p50_ms"] for f in echo)
        summary[f"{name}_p99_ms"] = max(f[f"{name}_p99_ms"] for f in echo)
    return summary


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--latency-events", type=int, default=500)
    parser.add_argument("--interval", type=float, default=0.005, help="seconds between events in the delay phase")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-seconds", type=float, default=0.05)
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--skip-amqp", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="RabbitMQ rounds, each Echo's and the ceiling's")
    parser.add_argument(
        "--drain", action="store_true", help="also time Echo and the ceiling draining --events from full queues"
    )
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    settle_after_start()  # as a started worker does (gennaker.commands._runtime.host_workers)

    results: dict[str, dict[str, float]] = {"baseline": await baseline(args)}
    print("  baseline: done", flush=True)
    memory = MemoryBus(source="/bench")

    async def same_memory() -> Bus:
        return memory

    results["memory"] = await through_sinks(same_memory, args, "memory bus")
    if not args.skip_amqp:

        async def amqp() -> Bus:
            return await AmqpBus.connect(args.amqp_url, source="/bench")

        echo_rounds: list[dict[str, float]] = []
        ceilings: list[dict[str, float]] = []
        for number in range(args.rounds):
            order = ("ceiling", "echo") if number % 2 == 0 else ("echo", "ceiling")
            for phase in order:
                if phase == "ceiling":
                    ceilings.append(await rabbitmq_ceiling(args))
                    print(f"  RabbitMQ ceiling, round {number + 1}: {per_event(ceilings[-1])}", flush=True)
                    if args.drain:
                        drained = await rabbitmq_ceiling(args, drain=True)
                        ceilings[-1].update({f"drain_{name}": value for name, value in drained.items()})
                        print(f"    draining full queues: {per_event(drained)}", flush=True)
                else:
                    echo_rounds.append(await through_sinks(amqp, args, f"RabbitMQ, round {number + 1}"))
                    print(f"    {per_event(echo_rounds[-1])}", flush=True)
                    if args.drain:
                        print(f"    draining full queues: {per_event(echo_rounds[-1], 'drain_')}", flush=True)
        results["amqp"] = rounds_summary(echo_rounds, ceilings)

    print()
    print(
        f"{args.events} events to an ES-bulk sink and a Splunk-HEC sink at once (batch {args.batch_size}, "
        f"{args.batch_seconds * 1000:g} ms); delay over {args.latency_events} events, "
        f"one per {args.interval * 1000:g} ms"
    )
    header = f"{'':28}{'events/s':>10}{'ES p50':>10}{'ES p99':>10}{'HEC p50':>10}{'HEC p99':>10}"
    print(header)
    for name, label in (
        ("baseline", "direct aiohttp (baseline)"),
        ("memory", "Echo sinks, MemoryBus"),
        ("amqp", "Echo sinks, RabbitMQ"),
    ):
        if name not in results:
            continue
        f = results[name]
        print(
            f"{label:28}{f['events_per_s']:>10,.0f}{f['es_p50_ms']:>8.1f}ms{f['es_p99_ms']:>8.1f}ms"
            f"{f['hec_p50_ms']:>8.1f}ms{f['hec_p99_ms']:>8.1f}ms"
        )
    for name in ("baseline", "memory", "amqp"):
        if name in results:
            ratio = results[name]["events_per_s"] / results["baseline"]["events_per_s"]
            print(
                f"  {name}: {ratio:.2f}x the direct baseline's events/s; "
                f"lost {results[name]['lost']:.0f}, doubled {results[name]['doubled']:.0f}"
            )
    if "amqp" in results:
        rabbit = results["amqp"]
        print(
            f"  RabbitMQ ceiling (raw aio-pika, same queues, no sink): {rabbit['ceiling_events_per_s']:,.0f} "
            f"events/s; Echo is {rabbit['ratio_to_ceiling']:.2f}x of it (median of {args.rounds} rounds, "
            f"spread {rabbit['ratio_spread']:.2f})"
        )
        if "drain_events_per_s" in rabbit:
            print(
                f"  Draining {args.events} events from full queues (no publisher meanwhile): Echo "
                f"{rabbit['drain_events_per_s']:,.0f} events/s, {rabbit['drain_cpu_us']:,.0f} us CPU per event here; "
                f"raw aio-pika {rabbit['ceiling_drain_events_per_s']:,.0f} events/s, "
                f"{rabbit['ceiling_drain_cpu_us']:,.0f} us (medians)"
            )
        if "broker_us" in rabbit:
            print(
                f"  CPU per event (median): Echo's run {rabbit['cpu_us']:,.0f} us here + {rabbit['broker_us']:,.0f} us "
                f"in RabbitMQ; the ceiling's {rabbit['ceiling_cpu_us']:,.0f} us + {rabbit['ceiling_broker_us']:,.0f} us"
            )
    print(
        json.dumps(
            {
                "events": args.events,
                "batch_size": args.batch_size,
                "batch_seconds": args.batch_seconds,
                "rounds": args.rounds,
                **results,
            }
        )
    )
    if any(figures["lost"] or figures["doubled"] for figures in results.values()):
        sys.exit("events were lost or doubled: see the counts above")


if __name__ == "__main__":
    asyncio.run(main())
