"""Bus throughput against a baseline measured in the same run, and ``gennaker up`` start-up cost.

Workload: persistent messages of about 1 KB, routed through a direct exchange to a quorum queue,
published with confirms (a window of ``--window`` publishes in flight) while a consumer with prefetch
``--prefetch`` on the same connection handles them and acks each one manually. Both sides do that
work: raw aio-pika (one connection, a confirming publish channel and a consuming channel; the
handler parses the JSON body and acks) and ``AmqpBus`` (one bus, which is one connection with the
same two channels, as a service that consumes and publishes has; envelope, JSON, pydantic
validation, dispatch, metrics, tracing hooks and logging context included, and the ids it needs
carried as message properties). Raw aio-pika through the default exchange is printed too, to show
what exchange routing itself costs the broker.

Every rig is connected, declared and warmed up once; then each of ``--rounds`` rounds sends
``--messages`` through each rig in ``--slices`` short slices whose order alternates (raw, default,
bus; then bus, default, raw; ...), so a burst of load from anything else on the machine falls on
both sides of a pair alike. Each slice pair gives one ratio (AmqpBus / raw aio-pika); the median
of those ratios is the figure, with its quartiles and a distribution-free 95% confidence interval
(order statistics). When that interval is wider than ``--max-spread`` of the median the run fails
loudly (exit status 3, INCONCLUSIVE): the machine was too busy for the figure to mean anything.
The client's CPU time per message (publisher and consumer are this one process) is printed per
side too: the benchmark's client is CPU-bound, so it says where a difference comes from. Then
``MemoryBus``. Last, it starts ``gennaker up`` and times it to a healthy ``/health``, reading its
resident memory (``benchmarks/up.py`` measures start-up beside its own baseline).

    .venv/bin/python benchmarks/bus.py [--messages 20000] [--rounds 5] [--slices 8] [--max-spread 0.2] [--skip-up]

The last line printed is one JSON object with every figure, for comparing runs over time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, NamedTuple

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractExchange, AbstractIncomingMessage, AbstractQueue

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bus import Bus, Consumption, Endpoint, MemoryBus, MessageContext  # noqa: E402
from bus.amqp import AmqpBus  # noqa: E402
from gennaker.host import free_port  # noqa: E402
from schemas import Command, message  # noqa: E402

PAYLOAD = "x" * 900  # with the envelope and the other fields, about 1 KB on the wire


@message
class BenchmarkWork(Command):
    """The benchmark's message: a sequence number and a filler to make it about 1 KB."""

    message_type: ClassVar[str] = "bench.Work"
    sequence: int
    payload: str


class Slice(NamedTuple):
    """One timed slice: messages per second, and the client's CPU microseconds per message."""

    rate: float
    cpu_us: float


class Rig(ABC):
    """One side of the comparison, connected and consuming, ready to time a slice of messages."""

    def __init__(self) -> None:
        self._expected = 0
        self._received = 0
        self._done = asyncio.Event()

    def _arrived(self) -> None:
        self._received += 1
        if self._received == self._expected:
            self._done.set()

    @abstractmethod
    async def _publish(self, sequence: int) -> None:
        """Publish message number ``sequence`` and return once the broker confirmed it."""

    async def run(self, count: int, window: int) -> Slice:
        """Time ``count`` messages from the first publish to the last one handled."""
        self._expected, self._received = count, 0
        self._done.clear()
        cpu, started = time.process_time(), time.perf_counter()
        for first in range(0, count, window):
            await asyncio.gather(*(self._publish(n) for n in range(first, min(first + window, count))))
        await self._done.wait()
        return Slice(count / (time.perf_counter() - started), (time.process_time() - cpu) / count * 1e6)

    async def warm_up(self, count: int, window: int) -> None:
        """Send ``count`` messages untimed: queue leader, channel and code paths warm before any figure."""
        await self.run(count, window)

    @abstractmethod
    async def close(self) -> None:
        """Stop consuming and delete what the rig declared."""


class RawRig(Rig):
    """raw aio-pika: one connection, a confirming publish channel and a consuming one, a quorum queue.

    ``via_exchange`` routes through a direct exchange bound to the queue, as ``AmqpBus`` routes a
    command through ``gennaker.commands``; without it the message goes to the default exchange,
    the cheapest route RabbitMQ has. Messages are persistent and published with the mandatory flag
    (aio-pika's default, as ``AmqpBus`` sends commands); the handler parses the body and acks it.
    """

    def __init__(self, connection: AbstractConnection, exchange: AbstractExchange, routing_key: str) -> None:
        super().__init__()
        self._connection = connection
        self._exchange = exchange
        self._routing_key = routing_key
        self._body = json.dumps({"sequence": 0, "payload": PAYLOAD, "padding": "y" * 100}).encode()
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None

    @classmethod
    async def connect(cls, url: str, queue_name: str, prefetch: int, *, via_exchange: bool) -> RawRig:
        connection = await aio_pika.connect(url)
        publish_channel = await connection.channel(publisher_confirms=True)
        consume_channel = await connection.channel()
        await consume_channel.set_qos(prefetch_count=prefetch)
        queue = await consume_channel.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        exchange, routing_key = publish_channel.default_exchange, queue_name
        if via_exchange:
            exchange = await publish_channel.declare_exchange(
                f"{queue_name}.exchange", aio_pika.ExchangeType.DIRECT, auto_delete=True
            )
            await queue.bind(exchange, routing_key="raw")
            routing_key = "raw"
        rig = cls(connection, exchange, routing_key)
        rig._queue = queue
        rig._tag = await queue.consume(rig._on_message)
        return rig

    async def _on_message(self, incoming: AbstractIncomingMessage) -> None:
        json.loads(incoming.body)
        await incoming.ack()
        self._arrived()

    async def _publish(self, sequence: int) -> None:
        message = aio_pika.Message(self._body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await self._exchange.publish(message, routing_key=self._routing_key)

    async def close(self) -> None:
        if self._queue is not None:
            if self._tag is not None:
                await self._queue.cancel(self._tag)
            await self._queue.delete(if_unused=False, if_empty=False)
        await self._connection.close()


class BusRig(Rig):
    """One :class:`Bus` sending :class:`BenchmarkWork` commands to itself and handling them."""

    def __init__(self, bus: Bus, service: str) -> None:
        super().__init__()
        self.bus = bus
        self.service = service
        self._consumption: Consumption | None = None

    @classmethod
    async def start(cls, bus: Bus, service: str, prefetch: int) -> BusRig:
        rig = cls(bus, service)

        async def handle(work: BenchmarkWork, context: MessageContext) -> None:
            rig._arrived()

        endpoint = Endpoint(service=service, kind="commands", handlers={"bench.Work": handle}, prefetch=prefetch)
        rig._consumption = await bus.consume(endpoint)
        return rig

    async def _publish(self, sequence: int) -> None:
        await self.bus.send(BenchmarkWork(sequence=sequence, payload=PAYLOAD), to=self.service)

    async def close(self) -> None:
        if self._consumption is not None:
            await self._consumption.stop()
        await self.bus.close()


async def amqp_bus_rig(url: str, service: str, prefetch: int) -> BusRig:
    rig = await BusRig.start(await AmqpBus.connect(url, source="/bench"), service, prefetch)
    return rig


async def delete_queue(url: str, name: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval holding the median of what ``values`` sample with ``confidence``.

    The k-th smallest and k-th largest values, for the largest k whose coverage, by the binomial
    distribution of how many samples fall below the median, is at least ``confidence``; with too few
    values for that, the smallest and the largest.
    """
    ordered, n = sorted(values), len(values)
    best = 1
    for k in range(1, n // 2 + 1):
        outside = 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        if 1 - outside >= confidence:
            best = k
    return ordered[best - 1], ordered[n - best]


def gennaker_up_cost(timeout: float = 120.0) -> dict[str, float]:
    """Seconds from ``gennaker up`` to a 200 on ``/health``, and its resident memory then (MiB)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "GENNAKER_DATA_DIR": data_dir,
            "GENNAKER_GATEWAY_PORT": str(port),
            "GENNAKER_METRICS_PORT": "0",
        }
        env.pop("GENNAKER_AMQP_URL", None)
        env.pop("GENNAKER_MONGO_URL", None)
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gennaker"), "up"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"gennaker up exited with {process.returncode}")
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"gennaker up was not healthy within {timeout:g}s")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                time.sleep(0.05)
            healthy_after = time.perf_counter() - started
            status = Path(f"/proc/{process.pid}/status").read_text()
            rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return {"up_seconds_to_healthy": round(healthy_after, 3), "up_rss_mib": round(rss_kib / 1024, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amqp-url", default=os.environ.get("GENNAKER_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--messages", type=int, default=20_000, help="messages through each rig per round")
    parser.add_argument("--window", type=int, default=200, help="publishes awaiting their confirm at once")
    parser.add_argument("--prefetch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slices", type=int, default=8, help="alternating slices per round, each one pair")
    parser.add_argument(
        "--max-spread",
        type=float,
        default=0.2,
        help="widest 95%% interval of the median ratio, as a fraction of the median, to conclude from",
    )
    parser.add_argument("--skip-up", action="store_true", help="do not measure gennaker up")
    args = parser.parse_args()
    tag = f"bench{os.getpid()}"
    size = max(args.messages // args.slices, 1)
    figures: dict[str, float | int] = {"messages": args.messages}

    raw_queue = f"gennaker.{tag}.raw"
    rigs: dict[str, Rig] = {
        "raw": await RawRig.connect(args.amqp_url, raw_queue, args.prefetch, via_exchange=True),
        "default": await RawRig.connect(args.amqp_url, f"{raw_queue}.default", args.prefetch, via_exchange=False),
        "bus": await amqp_bus_rig(args.amqp_url, tag, args.prefetch),
    }
    slices: dict[str, list[Slice]] = {name: [] for name in rigs}
    try:
        for rig in rigs.values():
            await rig.warm_up(min(size, 2_000), args.window)
        for round_ in range(1, args.rounds + 1):
            ratios = []
            for number in range(args.slices):
                # ABBA: whichever runs first in a pair (a cold broker, a burst of other load) is each in turn
                order = list(rigs) if number % 2 == round_ % 2 else list(reversed(rigs))
                for name in order:
                    slices[name].append(await rigs[name].run(size, args.window))
                ratios.append(slices["bus"][-1].rate / slices["raw"][-1].rate)
            this = {name: statistics.median(s.rate for s in runs[-args.slices :]) for name, runs in slices.items()}
            print(
                f"round {round_}: raw aio-pika {this['raw']:,.0f} msgs/s (default exchange {this['default']:,.0f}), "
                f"AmqpBus {this['bus']:,.0f} msgs/s (pairs {' '.join(f'{r:.2f}' for r in ratios)}x)",
                flush=True,
            )
    finally:
        for rig in rigs.values():
            await rig.close()
        await delete_queue(args.amqp_url, f"gennaker.{tag}.commands")

    ratios = [bus.rate / raw.rate for bus, raw in zip(slices["bus"], slices["raw"], strict=True)]
    ratio = statistics.median(ratios)
    low, high = median_interval(ratios)
    first, _, third = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratio, ratio, ratio)
    rate = {name: statistics.median(s.rate for s in runs) for name, runs in slices.items()}
    cpu = {name: statistics.median(s.cpu_us for s in runs) for name, runs in slices.items()}
    print(f"raw aio-pika      {rate['raw']:10,.0f} msgs/s  client CPU {cpu['raw']:4.0f} us/msg (same route as AmqpBus)")
    print(f"  default exchange{rate['default']:10,.0f} msgs/s  client CPU {cpu['default']:4.0f} us/msg (no routing)")
    print(
        f"AmqpBus           {rate['bus']:10,.0f} msgs/s  client CPU {cpu['bus']:4.0f} us/msg\n"
        f"  {ratio:.2f}x raw: median of {len(ratios)} paired slices of {size:,} messages, 95% interval "
        f"{low:.2f}-{high:.2f}, quartiles {first:.2f}-{third:.2f}, range {min(ratios):.2f}-{max(ratios):.2f}; "
        "goal >= 0.80x",
        flush=True,
    )
    memory_rig = await BusRig.start(MemoryBus(source="/bench"), "bench", args.prefetch)
    try:
        await memory_rig.warm_up(min(size, 2_000), args.window)
        memory = (await memory_rig.run(args.messages, args.window)).rate
    finally:
        await memory_rig.close()
    print(f"MemoryBus         {memory:10,.0f} msgs/s", flush=True)
    figures.update(
        amqp_bus_msgs_per_s=round(rate["bus"]),
        raw_aio_pika_msgs_per_s=round(rate["raw"]),
        raw_default_exchange_msgs_per_s=round(rate["default"]),
        ratio=round(ratio, 3),
        ratio_ci95_low=round(low, 3),
        ratio_ci95_high=round(high, 3),
        pairs=len(ratios),
        amqp_bus_client_cpu_us_per_msg=round(cpu["bus"]),
        raw_client_cpu_us_per_msg=round(cpu["raw"]),
        memory_bus_msgs_per_s=round(memory),
    )
    if not args.skip_up:
        up = await asyncio.to_thread(gennaker_up_cost)
        print(f"gennaker up       {up['up_seconds_to_healthy']:.2f} s to healthy, {up['up_rss_mib']:.0f} MiB RSS")
        figures.update(up)
    print(json.dumps(figures))
    if high - low > args.max_spread * ratio:
        print(
            f"INCONCLUSIVE: the median AmqpBus/raw ratio {ratio:.2f}x is only known to lie within "
            f"{low:.2f}x-{high:.2f}x (95%), wider than --max-spread {args.max_spread:g} of it; the machine is too "
            "busy for this figure: run again when it is quieter, or with more --rounds or --slices",
            file=sys.stderr,
        )
        raise SystemExit(3)


if __name__ == "__main__":
    asyncio.run(main())
