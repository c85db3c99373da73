"""One private event subscription per gateway app, started once and stopped with the app.

Some of the gateway's answers need events as they happen (a command's answering event, an
application that changed). Each such need is one non-durable queue of the gateway's own, bound
by topic patterns, whose envelopes go undecoded to one handler. :class:`PrivateSubscription`
starts it at most once however many callers ask (``start`` and ``stop`` are idempotent and
serialised), and :func:`follow_with_app` ties it to the app's startup and cleanup.

Example::

    changes = PrivateSubscription(bus, "gateway-applications", ("front50.application.#",), forget)
    follow_with_app(app, changes)          # subscribed on startup, unsubscribed on cleanup
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from aiohttp import web

from bus import Bus, Consumption, Endpoint, RawHandler


class PrivateSubscription:
    """A private queue of ``subscriber``'s bound to ``patterns``, its envelopes handed to ``handler``."""

    def __init__(
        self, bus: Bus, subscriber: str, patterns: tuple[str, ...], handler: RawHandler, *, prefetch: int
    ) -> None:
        self.bus = bus
        self.endpoint = Endpoint(
            service=subscriber,
            kind="events",
            patterns=patterns,
            raw_handler=handler,
            durable=False,
            prefetch=prefetch,
        )
        self._consumption: Consumption | None = None
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        """Whether the queue is being consumed now."""
        return self._consumption is not None

    async def start(self) -> None:
        """Subscribe, unless subscribed already."""
        async with self._lock:
            if self._consumption is None:
                self._consumption = await self.bus.consume(self.endpoint)

    async def stop(self) -> None:
        """Unsubscribe (the private queue goes with it), unless not subscribed."""
        async with self._lock:
            consumption, self._consumption = self._consumption, None
            if consumption is not None:
                await consumption.stop()


class Startable(Protocol):
    """What :func:`follow_with_app` starts and stops."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def follow_with_app(app: web.Application, follower: Startable) -> None:
    """Start ``follower`` when ``app`` starts and stop it at cleanup (a failure to stop is ignored:
    the bus may be closed first). Call before the app starts."""

    async def start(app: web.Application) -> None:
        await follower.start()

    async def stop(app: web.Application) -> None:
        with contextlib.suppress(Exception):
            await follower.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
