"""The MongoDB wire server on mongoeco's memory engine, alone in a process (as the other suites'
fixtures run it, but out of the test's own event loop), for tests that run workers as processes.

``python -m tests.integration.orca.store_process`` prints ``store <url>`` once it listens and
serves until SIGTERM or SIGINT. ``gennaker store serve`` does the same over SQLite, which is
several times slower per write: too slow for the chaos test's thousands of transitions.
"""

from __future__ import annotations

import asyncio
import signal

from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
    address = await server.start()
    print(f"store {address.uri}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


if __name__ == "__main__":
    asyncio.run(main())
