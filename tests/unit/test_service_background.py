"""A hosted service's background loops run while it is hosted, restart when they fail, stop with it."""

from __future__ import annotations

import asyncio

from bus import Bus, MemoryBus
from bus.service import Service, ServiceHost


async def test_background_loops_run_while_hosted_and_are_cancelled_on_stop() -> None:
    seen: list[Bus] = []
    cancelled = asyncio.Event()

    async def loop(bus: Bus) -> None:
        seen.append(bus)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with MemoryBus() as bus:
        host = ServiceHost(bus, Service("demo", "1.0", background=[loop]))
        await host.start()
        await asyncio.sleep(0.01)
        assert seen == [bus]
        await host.stop()
        assert cancelled.is_set()


async def test_a_failing_background_loop_is_restarted() -> None:
    runs = 0
    finished = asyncio.Event()

    async def flaky(bus: Bus) -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise RuntimeError("poll failed")
        finished.set()

    async with MemoryBus() as bus:
        host = ServiceHost(bus, Service("demo", "1.0", background=[flaky]), restart_delay=0.01)
        await host.start()
        await asyncio.wait_for(finished.wait(), 2)
        await host.stop()
    assert runs == 3
