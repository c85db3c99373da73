"""A worker process for the redelivery test: takes one command and hangs until it is killed."""

from __future__ import annotations

import asyncio
import sys

from bus import Endpoint, MessageContext
from bus.amqp import AmqpBus
from tests.contract.messages import DoWork


async def main(url: str, service: str) -> None:
    bus = await AmqpBus.connect(url, source="/contract/victim")

    async def hang(message: DoWork, context: MessageContext) -> None:
        print(f"handling {message.job}", flush=True)
        await asyncio.Event().wait()

    await bus.consume(Endpoint(service=service, kind="commands", handlers={"contract.DoWork": hang}, prefetch=1))
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
