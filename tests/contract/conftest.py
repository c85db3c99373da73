"""Runs each contract test once per bus implementation: in memory and on the real RabbitMQ."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aio_pika
import pytest

from bus import Bus, Endpoint, MemoryBus, RetryPolicy
from bus.amqp import AmqpBus
from bus.dead_letter import QUEUE_HEADER
from bus.endpoint import DEAD_LETTER_QUEUE
from bus.memory import MemoryConsumption

FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.1, factor=2.0, max_delay=2.0)
ROOT = Path(__file__).resolve().parents[2]


class Harness:
    """What a contract test needs from a bus implementation, beyond the ``Bus`` interface."""

    kind: str

    async def bus(self) -> Bus:
        """A bus; each call on AMQP is a new connection, as a separate process would have."""
        raise NotImplementedError

    async def crash_consumer_holding_one(self, service: str, send: Callable[[], Awaitable[object]]) -> None:
        """Start a consumer of ``service``'s commands, let it take one message, and kill it unacked."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class MemoryHarness(Harness):
    kind = "memory"

    def __init__(self) -> None:
        self.shared = MemoryBus(source="/contract", retry=FAST_RETRY)

    async def bus(self) -> Bus:
        return self.shared

    async def crash_consumer_holding_one(self, service: str, send: Callable[[], Awaitable[object]]) -> None:
        taken = asyncio.Event()

        async def hang(message: object, context: object) -> None:
            taken.set()
            await asyncio.Event().wait()

        victim = await self.shared.consume(
            Endpoint(service=service, kind="commands", handlers={"contract.DoWork": hang}, prefetch=1)
        )
        await send()
        await asyncio.wait_for(taken.wait(), 5)
        assert isinstance(victim, MemoryConsumption)
        await victim.abort()

    async def close(self) -> None:
        await self.shared.close()


class AmqpHarness(Harness):
    kind = "amqp"

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.buses: list[AmqpBus] = []
        self.processes: list[subprocess.Popen[str]] = []

    async def bus(self) -> Bus:
        bus = await AmqpBus.connect(self.url, source="/contract", retry=FAST_RETRY)
        self.buses.append(bus)
        return bus

    async def crash_consumer_holding_one(self, service: str, send: Callable[[], Awaitable[object]]) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.contract.consumer_process", self.url, service],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.processes.append(process)
        assert process.stdout is not None
        ready = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
        assert ready.strip() == "ready", ready
        await send()
        taken = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
        assert taken.startswith("handling"), taken
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait)

    async def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        for bus in self.buses:
            await bus.close()
        await purge(self.url, self.prefix)


async def purge(url: str, prefix: str) -> None:
    """Delete this test's queues and its dead letters, so runs never pile up on the broker."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for group in (prefix, f"{prefix}-a", f"{prefix}-b"):
            for kind in ("commands", "events", "queries"):
                with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
                    await channel.queue_delete(f"gennaker.{group}.{kind}")
                if channel.is_closed:
                    channel = await connection.channel()
        dead = await channel.get_queue(DEAD_LETTER_QUEUE, ensure=False)
        while (message := await dead.get(no_ack=False, fail=False)) is not None:
            queue = (message.headers or {}).get(QUEUE_HEADER, "")
            queue = queue.decode() if isinstance(queue, bytes) else str(queue)
            if queue.startswith(f"gennaker.{prefix}"):
                await message.ack()
        await channel.close()


@pytest.fixture(params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)])
async def harness(request: pytest.FixtureRequest, unique: str, amqp_url: str) -> AsyncIterator[Harness]:
    """Each contract test runs once per bus implementation."""
    harness: Harness = MemoryHarness() if request.param == "memory" else AmqpHarness(amqp_url, unique)
    try:
        yield harness
    finally:
        await harness.close()
