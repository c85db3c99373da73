"""Bus throughput against a baseline measured in the same run, and ``gennaker up`` start-up cost.

Workload: N persistent messages of about 1 KB, routed through a direct exchange to a quorum queue,
published with confirms (a window of ``--window`` publishes in flight) while a consumer with prefetch
``--prefetch`` handles them and acks manually. It runs through raw aio-pika and through ``AmqpBus``
(envelope, JSON, pydantic validation, dispatch, metrics and logging context included) on the same
broker and the same route, in rounds whose order alternates (forwards, then backwards), so load from
anything else on the machine falls on each alike; raw aio-pika through the default exchange is
printed too, to show what exchange routing itself costs the broker. Each round gives one ratio
(AmqpBus / raw aio-pika in that round); the median ratio and the spread of the ratios (max - min)
are reported, and the run fails loudly (exit status 3) when that spread is wider than
``--max-spread`` of the median: the machine was too busy for the figure to mean anything. Then
``MemoryBus``. Last, it starts ``gennaker up`` and times it to a healthy ``/health``, reading its
resident memory (``benchmarks/up.py`` measures start-up beside its own baseline).

    .venv/bin/python benchmarks/bus.py [--messages 20000] [--rounds 5] [--max-spread 0.2] [--skip-up]

The last line printed is one JSON object with every figure, for comparing runs over time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import ClassVar

import aio_pika

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bus import Bus, Endpoint, MemoryBus, MessageContext  # noqa: E402
from bus.amqp import AmqpBus  # noqa: E402
from schemas import Command, message  # noqa: E402

PAYLOAD = "x" * 900  # with the envelope and the other fields, about 1 KB on the wire


@message
class BenchmarkWork(Command):
    """The benchmark's message: a sequence number and a filler to make it about 1 KB."""

    message_type: ClassVar[str] = "bench.Work"
    sequence: int
    payload: str


async def raw_aio_pika(
    url: str, count: int, window: int, prefetch: int, queue_name: str, *, via_exchange: bool = True
) -> float:
    """Messages per second through aio-pika alone: the ceiling for any bus on this broker.

    ``via_exchange`` routes through a direct exchange bound to the queue, as ``AmqpBus`` routes a
    command through ``gennaker.commands``; without it the message goes to the default exchange,
    the cheapest route RabbitMQ has.
    """
    connection = await aio_pika.connect(url)
    async with connection:
        publish_channel = await connection.channel(publisher_confirms=True)
        consume_channel = await connection.channel()
        await consume_channel.set_qos(prefetch_count=prefetch)
        queue = await consume_channel.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        exchange = publish_channel.default_exchange
        routing_key = queue_name
        if via_exchange:
            exchange = await publish_channel.declare_exchange(
                f"{queue_name}.exchange", aio_pika.ExchangeType.DIRECT, auto_delete=True
            )
            await queue.bind(exchange, routing_key="raw")
            routing_key = "raw"
        done = asyncio.Event()
        received = 0

        async def on_message(incoming: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal received
            json.loads(incoming.body)
            await incoming.ack()
            received += 1
            if received == count:
                done.set()

        await queue.consume(on_message)
        body = json.dumps({"sequence": 0, "payload": PAYLOAD, "padding": "y" * 100}).encode()
        started = time.perf_counter()
        for first in range(0, count, window):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=routing_key,
                    )
                    for _ in range(first, min(first + window, count))
                )
            )
        await done.wait()
        elapsed = time.perf_counter() - started
        await queue.delete(if_unused=False, if_empty=False)
    return count / elapsed


async def through_bus(producer: Bus, consumer: Bus, count: int, window: int, prefetch: int, service: str) -> float:
    """Messages per second sent with ``producer.send`` and handled by a consumer of ``consumer``."""
    done = asyncio.Event()
    warmed_up = asyncio.Event()
    received = 0

    async def handle(work: BenchmarkWork, context: MessageContext) -> None:
        nonlocal received
        if work.sequence < 0:
            warmed_up.set()
            return
        received += 1
        if received == count:
            done.set()

    consumption = await consumer.consume(
        Endpoint(service=service, kind="commands", handlers={"bench.Work": handle}, prefetch=prefetch)
    )
    await producer.send(BenchmarkWork(sequence=-1, payload=""), to=service)  # declares the queue
    await warmed_up.wait()
    started = time.perf_counter()
    for first in range(0, count, window):
        await asyncio.gather(
            *(
                producer.send(BenchmarkWork(sequence=n, payload=PAYLOAD), to=service)
                for n in range(first, min(first + window, count))
            )
        )
    await done.wait()
    elapsed = time.perf_counter() - started
    await consumption.stop()
    return count / elapsed


async def amqp_bus(url: str, count: int, window: int, prefetch: int, service: str) -> float:
    producer = await AmqpBus.connect(url, source="/bench/producer")
    consumer = await AmqpBus.connect(url, source="/bench/consumer")
    try:
        return await through_bus(producer, consumer, count, window, prefetch, service)
    finally:
        await producer.close()
        await consumer.close()
        connection = await aio_pika.connect(url)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(f"gennaker.{service}.commands")


async def memory_bus(count: int, window: int, prefetch: int) -> float:
    bus = MemoryBus(source="/bench")
    try:
        return await through_bus(bus, bus, count, window, prefetch, "bench")
    finally:
        await bus.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=200, help="publishes awaiting their confirm at once")
    parser.add_argument("--prefetch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5, help="alternating runs of each; medians are reported")
    parser.add_argument(
        "--max-spread",
        type=float,
        default=0.2,
        help="widest spread (max - min) of the per-round ratios, as a fraction of their median, to conclude from",
    )
    parser.add_argument("--skip-up", action="store_true", help="do not measure gennaker up")
    args = parser.parse_args()
    tag = f"bench{os.getpid()}"
    figures: dict[str, float | int] = {"messages": args.messages}

    raw_runs: list[float] = []
    default_runs: list[float] = []
    bus_runs: list[float] = []
    raw_queue = f"gennaker.{tag}.raw"

    async def raw_run() -> None:
        raw_runs.append(await raw_aio_pika(args.amqp_url, args.messages, args.window, args.prefetch, raw_queue))

    async def default_run() -> None:
        default_runs.append(
            await raw_aio_pika(args.amqp_url, args.messages, args.window, args.prefetch, raw_queue, via_exchange=False)
        )

    async def bus_run() -> None:
        bus_runs.append(await amqp_bus(args.amqp_url, args.messages, args.window, args.prefetch, tag))

    for round_ in range(1, args.rounds + 1):
        # alternate the order too, so that whichever runs first (a cold broker, a burst of other load) is each in turn
        order = [raw_run, default_run, bus_run]
        for run in order if round_ % 2 else reversed(order):
            await run()
        print(
            f"round {round_}: raw aio-pika {raw_runs[-1]:,.0f} msgs/s (default exchange {default_runs[-1]:,.0f}), "
            f"AmqpBus {bus_runs[-1]:,.0f} msgs/s ({bus_runs[-1] / raw_runs[-1]:.2f}x)"
        )
    raw, default, bus = (statistics.median(runs) for runs in (raw_runs, default_runs, bus_runs))
    ratios = [bus_run / raw_run for bus_run, raw_run in zip(bus_runs, raw_runs, strict=True)]
    ratio, ratio_spread = statistics.median(ratios), max(ratios) - min(ratios)
    print(f"raw aio-pika      {raw:10,.0f} msgs/s (median of {args.rounds}; same direct-exchange route as AmqpBus)")
    print(f"  default exchange{default:10,.0f} msgs/s (no exchange routing at all)")
    print(
        f"AmqpBus           {bus:10,.0f} msgs/s   ({ratio:.2f}x raw, median of the rounds' ratios, "
        f"spread {ratio_spread:.2f}; goal >= 0.80x)",
        flush=True,
    )
    memory = await memory_bus(args.messages, args.window, args.prefetch)
    print(f"MemoryBus         {memory:10,.0f} msgs/s", flush=True)
    figures.update(
        amqp_bus_msgs_per_s=round(bus),
        raw_aio_pika_msgs_per_s=round(raw),
        raw_default_exchange_msgs_per_s=round(default),
        ratio=round(ratio, 3),
        ratio_spread=round(ratio_spread, 3),
        raw_spread_msgs_per_s=round(max(raw_runs) - min(raw_runs)),
        amqp_bus_spread_msgs_per_s=round(max(bus_runs) - min(bus_runs)),
        memory_bus_msgs_per_s=round(memory),
    )
    if not args.skip_up:
        up = await asyncio.to_thread(gennaker_up_cost)
        print(f"gennaker up       {up['up_seconds_to_healthy']:.2f} s to healthy, {up['up_rss_mib']:.0f} MiB RSS")
        figures.update(up)
    print(json.dumps(figures))
    if ratio_spread > args.max_spread * ratio:
        print(
            f"INCONCLUSIVE: the rounds' AmqpBus/raw ratios spread {ratio_spread:.2f} ({min(ratios):.2f}x to "
            f"{max(ratios):.2f}x), wider than --max-spread {args.max_spread:g} of their median {ratio:.2f}x; "
            "the machine is too busy for this figure: run again when it is quieter, or with more --rounds",
            file=sys.stderr,
        )
        raise SystemExit(3)


if __name__ == "__main__":
    asyncio.run(main())
