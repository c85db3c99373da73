"""Front50's applications as the gateway last fetched them, forgotten as soon as one changes.

Every Gate route on an application judges the caller by that application's permissions
(:func:`gateway.access.application_for`), and ``GET /events/stream`` judges every event it might
pass on so. Asking Front50 each time cost a query per request (per event and stream), as much as
the read the request was for; remembering a verdict for a fixed time let a stream opened before
an application existed keep passing that application's events to everybody for that long. This
cache keeps the *application* (its ``permissions``), never a verdict, and keeps it only while it
cannot be stale:

* one private subscription per gateway to ``front50.application.saved`` / ``deleted`` forgets the
  application the moment Front50 changes it;
* an entry fetched while such an event arrived is not kept (a generation count per name), so an
  answer already outdated when it lands is used once and never remembered;
* an application Front50 does not know (never stored) is not remembered at all: asked again on the
  next event, so it is judged by its permissions as soon as it exists;
* a lost connection to the broker (events may have been missed) forgets everything, and no entry
  outlives :attr:`KnownApplications.REMEMBER_SECONDS` in any case.

Example::

    install(app)                                     # in create_app: subscribe on startup
    application = await known_applications(app).find("shop", fetch)     # None: no such application
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bus import Bus, Envelope, MessageContext
from gateway.keys import BUS
from gateway.private_subscription import PrivateSubscription, follow_with_app
from schemas.json_types import Json

SUBSCRIBER = "gateway-applications"
PATTERNS = ("front50.application.saved", "front50.application.deleted")


@dataclass(frozen=True)
class _Entry:
    application: Json
    until: float
    interruptions: int


class KnownApplications:
    """What Front50 stores for each application an event stream asked about, kept only while current."""

    REMEMBER_SECONDS = 30.0
    """A backstop: no entry is used longer than this even if no event ever says it changed."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._known: dict[str, _Entry] = {}
        self._generation: dict[str, int] = {}
        self._changes = PrivateSubscription(bus, SUBSCRIBER, PATTERNS, self._changed, prefetch=64)

    @property
    def listening(self) -> bool:
        """Whether changes are being followed (else nothing is remembered)."""
        return self._changes.active

    async def start(self) -> None:
        """Follow Front50's application events; idempotent."""
        await self._changes.start()

    async def stop(self) -> None:
        """Stop following and forget everything."""
        self._known.clear()
        await self._changes.stop()
        self._known.clear()  # anything remembered while the subscription was being stopped

    def forget(self, name: str) -> None:
        """Drop what is known of application ``name`` and refuse to keep an answer already in flight."""
        key = name.strip().lower()
        self._known.pop(key, None)
        self._generation[key] = self._generation.get(key, 0) + 1

    async def find(self, name: str, fetch: Callable[[str], Awaitable[Json | None]]) -> Json | None:
        """Application ``name`` as Front50 stores it now: remembered, else ``await fetch(key)``'s answer
        (``key`` is the name lower-cased); ``None`` when there is no such application (not remembered)."""
        key = name.strip().lower()
        now = asyncio.get_running_loop().time()
        entry = self._known.get(key)
        if entry is not None and entry.until > now and entry.interruptions == self.bus.interruptions:
            return entry.application
        generation, interruptions = self._generation.get(key, 0), self.bus.interruptions
        application = await fetch(key)
        unchanged = self._generation.get(key, 0) == generation and self.bus.interruptions == interruptions
        if application is not None and unchanged and self.listening:
            self._known[key] = _Entry(application, now + self.REMEMBER_SECONDS, interruptions)
        return application

    async def _changed(self, envelope: Envelope, context: MessageContext) -> None:
        data = envelope.data
        application = data.get("application")
        name = application.get("name") if isinstance(application, dict) else data.get("name")
        if isinstance(name, str):
            self.forget(name)


KNOWN_APPLICATIONS = web.AppKey("known_applications", KnownApplications)


def install(app: web.Application) -> None:
    """Give ``app`` its :class:`KnownApplications`, following changes from startup to cleanup."""
    app[KNOWN_APPLICATIONS] = KnownApplications(app[BUS])
    follow_with_app(app, app[KNOWN_APPLICATIONS])


def known_applications(app: web.Application) -> KnownApplications | None:
    """The app's :class:`KnownApplications`; ``None`` if :func:`install` was not called (nothing is remembered)."""
    return app.get(KNOWN_APPLICATIONS)
