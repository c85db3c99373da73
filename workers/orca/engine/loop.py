"""Runs one step of background work every so often until cancelled, never abandoning a step midway.

Cancelling a coroutine in the middle of a database call leaves the call running in the store's
thread while the caller goes on to close the store; so a step in flight is awaited to its end
before the cancellation is honoured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("gennaker.orca.engine")


async def every(
    interval: float,
    step: Callable[[], Awaitable[object]],
    *,
    name: str,
    prepare: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Await ``prepare()`` once (until it succeeds), then ``step()`` now and every ``interval``
    seconds; a failing step is logged and tried again."""
    prepared = prepare is None

    async def once() -> None:
        nonlocal prepared
        if not prepared and prepare is not None:
            await prepare()
            prepared = True
        await step()

    while True:
        work = asyncio.ensure_future(once())
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            await asyncio.gather(work, return_exceptions=True)
            raise
        except Exception as error:
            log.error(f"{name} failed, will try again", error=repr(error))
        await asyncio.sleep(interval)
