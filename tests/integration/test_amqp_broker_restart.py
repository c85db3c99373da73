"""A broker restart loses no message whose publish was confirmed, and consumers carry on after it."""

from __future__ import annotations

import asyncio
import time

import pytest

from bus import Endpoint, MessageContext
from bus.amqp import AmqpBus
from tests.broker import rabbitmqctl
from tests.contract.conftest import purge
from tests.contract.messages import DoWork

pytestmark = [pytest.mark.amqp, pytest.mark.alone, pytest.mark.timeout(180)]  # every connection to the broker drops


def restart_broker() -> None:
    rabbitmqctl("stop_app")
    time.sleep(1)
    rabbitmqctl("start_app")


async def test_confirmed_publishes_survive_a_broker_restart(amqp_url: str, unique: str) -> None:
    received: set[str] = set()

    async def record(message: DoWork, context: MessageContext) -> None:
        received.add(message.job)

    consumer = await AmqpBus.connect(amqp_url, source="/restart/consumer")
    producer = await AmqpBus.connect(amqp_url, source="/restart/producer")
    try:
        await consumer.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": record}))
        confirmed: list[str] = []
        stop = asyncio.Event()

        async def keep_sending() -> None:
            n = 0
            while not stop.is_set():
                job = f"job-{n}"
                await producer.send(DoWork(job=job), to=unique)
                confirmed.append(job)
                n += 1
                await asyncio.sleep(0.01)

        sender = asyncio.create_task(keep_sending())
        await asyncio.sleep(0.5)
        before_restart = len(confirmed)
        await asyncio.to_thread(restart_broker)
        deadline = time.monotonic() + 60
        while len(confirmed) < before_restart + 50:
            assert time.monotonic() < deadline, "publishing did not resume after the broker came back"
            await asyncio.sleep(0.1)
        stop.set()
        await sender
        while not set(confirmed) <= received:
            assert time.monotonic() < deadline, f"lost: {sorted(set(confirmed) - received)[:10]}"
            await asyncio.sleep(0.1)
        assert before_restart > 0
    finally:
        await producer.close()
        await consumer.close()
        await purge(amqp_url, unique)
