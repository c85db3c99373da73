"""Send a command and wait for the event that answers it: how the gateway answers a write as Gate does.

Gate answers ``POST /pipelines`` only once the save is done; here the save is a command and its
outcome an event whose ``causationid`` is the command's id (Front50 answers every command with
exactly one such event; Orca's execution commands with their first event). One private,
non-durable event subscription per gateway app, bound to ``front50.#``, ``orca.task.#``,
``orca.execution.#``, ``orca.command.#``, ``orca.stage.judged`` and Kayenta's answers, resolves a dict of futures keyed
by command id; nothing polls.

The future is registered before the command is sent, so an answer can never arrive unseen. A
``*.command.rejected`` answer raises :class:`CommandRejected` with its status and field; no answer
by the deadline raises :class:`gateway.errors.CommandTimeout` (504).

The same subscription receives every event of Front50's, whoever sent the command (Front50 answers
every change with one), so it also tells whether Front50 changed anything since a moment
(:meth:`CommandResults.seen`, :meth:`CommandResults.nothing_since`): the count of a service's events
moves before the future of the command that caused one is resolved, so a client told "saved" never
finds a read the gateway kept from before its save (:mod:`gateway.held_replies`).

Example::

    install(app)                                       # on_startup / on_cleanup hooks
    event = await send_command(request, SavePipeline(pipeline=body))
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from bus import BrokerUnavailable, Bus, Envelope, MessageContext, QueryFailed, RawReply
from gateway.errors import CommandTimeout, GatewayError
from gateway.keys import BUS, CONFIG
from gateway.private_subscription import PrivateSubscription, follow_with_app
from schemas.base import CLOUDEVENT_TYPE_PREFIX, Command, Query, Reply, parse_cloudevent_type

log = structlog.get_logger("gennaker.gateway.commands")

PATTERNS = (
    "front50.#",
    "orca.task.#",
    "orca.execution.#",
    "orca.command.#",
    "orca.stage.judged",
    "kayenta.canary.started",
    "kayenta.command.#",
    "rosco.bake.accepted",
    "rosco.bake.canceled",
    "rosco.command.#",
)
"""Where the answers to the gateway's commands are published."""
SUBSCRIBER = "gateway-results"
COMMAND_TIMEOUT = 10.0
"""Seconds a write waits for its answering event before answering 504, unless the app's
:class:`~gateway.config.GatewayConfig` sets ``command_timeout``."""
QUERY_TIMEOUT = 5.0
"""Seconds a read waits for its reply before answering 504, unless the config sets ``query_timeout``."""


class CommandRejected(GatewayError):
    """The service refused the command and changed nothing; ``status`` is HTTP-like, ``field`` the culprit."""

    def __init__(self, status: int, reason: str, field: str | None) -> None:
        super().__init__(reason, field=field)
        self.status = status


@dataclass(frozen=True)
class Seen:
    """How many events of ``service`` a :class:`CommandResults` had received at ``at`` (loop time), and on
    which connection to the broker: compare with :meth:`CommandResults.nothing_since`."""

    results: weakref.ReferenceType[CommandResults]
    service: str
    events: int
    interruptions: int
    at: float


@dataclass(frozen=True)
class CommandResult:
    """The event that answered a command: its type name (``front50.pipeline.saved``) and data."""

    event_type: str
    data: dict[str, Any]
    envelope: Envelope


class CommandResults:
    """Awaits answering events by causation id over one private subscription.

    ``start`` and ``stop`` are idempotent; ``send`` starts the subscription if nobody did.
    """

    SEEN_SECONDS = 10.0
    """A backstop: :meth:`nothing_since` is false this long after :meth:`seen` even if no event came (a
    command that failed part-way and was dead-lettered may have changed data without an event)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._pending: dict[str, asyncio.Future[Envelope]] = {}
        self._events: dict[str, int] = {}
        self._answers = PrivateSubscription(bus, SUBSCRIBER, PATTERNS, self._deliver, prefetch=256)

    async def start(self) -> None:
        """Subscribe to the answering events."""
        await self._answers.start()

    async def stop(self) -> None:
        """Unsubscribe; commands still waiting time out."""
        await self._answers.stop()

    def seen(self, service: str) -> Seen | None:
        """A mark of the events of ``service`` received so far; ``None`` while not subscribed (then nothing
        that happens is seen). Only the services :data:`PATTERNS` take every event of (Front50) mean
        anything here."""
        if not self._answers.active or self.bus.outage() is not None:
            return None
        now = asyncio.get_running_loop().time()
        return Seen(weakref.ref(self), service, self._events.get(service, 0), self.bus.interruptions, now)

    def nothing_since(self, seen: Seen) -> bool:
        """Whether no event of ``seen.service`` arrived since :meth:`seen` made ``seen`` (and this
        subscription, on the same connection, was following all along, for under :attr:`SEEN_SECONDS`)."""
        return (
            seen.results() is self
            and self._answers.active
            and self._events.get(seen.service, 0) == seen.events
            and self.bus.interruptions == seen.interruptions
            and self.bus.outage() is None
            and asyncio.get_running_loop().time() - seen.at < self.SEEN_SECONDS
        )

    def suppose_changed(self, service: str) -> None:
        """Treat ``service`` as changed now: a client learned of a change it made another way than through an
        event of ``service``'s (a finished task, which Orca marks so only after the event reached it), and
        its next read must not be answered from before that change."""
        self._events[service] = self._events.get(service, 0) + 1

    async def _deliver(self, envelope: Envelope, context: MessageContext) -> None:
        service = envelope.type.removeprefix(CLOUDEVENT_TYPE_PREFIX).partition(".")[0]
        self._events[service] = self._events.get(service, 0) + 1  # before any future: see seen()
        future = self._pending.get(envelope.causationid or "")
        if future is not None and not future.done():
            future.set_result(envelope)

    async def send(
        self, command: Command, *, timeout: float = COMMAND_TIMEOUT, subject: str | None = None
    ) -> CommandResult:
        """Send ``command`` to its owner and return the event it caused.

        Raises :class:`CommandRejected` for a ``*.command.rejected`` answer and
        :class:`gateway.errors.CommandTimeout` when none arrives within ``timeout`` seconds.
        """
        await self.start()
        envelope = self.bus.envelope(command, subject=subject)
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = future
        interruptions = self.bus.interruptions
        try:
            await self.bus.send_envelope(envelope, to=command.owner())
            try:
                answer = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                if self.bus.interruptions != interruptions or self.bus.outage() is not None:
                    # the answer was lost with the connection, or cannot come yet: the command may have
                    # been carried out, so the client retries with the same Idempotency-Key
                    raise BrokerUnavailable(
                        f"the connection to the message broker dropped while waiting for {command.owner()} to "
                        f"answer {command.message_type}; it may have been carried out: retry with the same "
                        "Idempotency-Key to get its answer"
                    ) from None
                raise CommandTimeout(
                    f"{command.owner()} did not answer {command.message_type} within {timeout:g}s; it may still "
                    "be carried out: check that its worker is running (GET /health) and retry with the same "
                    "Idempotency-Key",
                    service=command.owner(),
                ) from None
        finally:
            self._pending.pop(envelope.id, None)
        event_type, _ = parse_cloudevent_type(answer.type)
        if event_type.endswith(".command.rejected"):
            data = answer.data
            raise CommandRejected(int(data.get("status", 400)), str(data.get("reason", "rejected")), data.get("field"))
        return CommandResult(event_type=event_type, data=answer.data, envelope=answer)


RESULTS = web.AppKey("command_results", CommandResults)
"""The app's :class:`CommandResults`, when :func:`install` put it there before the app started."""
_UNINSTALLED: weakref.WeakKeyDictionary[web.Application, CommandResults] = weakref.WeakKeyDictionary()


def install(app: web.Application) -> None:
    """Give ``app`` its subscription: started on startup, stopped on cleanup. Call before the app starts."""
    app[RESULTS] = CommandResults(app[BUS])
    follow_with_app(app, app[RESULTS])


def results_of(app: web.Application) -> CommandResults:
    """The app's :class:`CommandResults`; one made on first use (stopped with the bus) if not installed."""
    if RESULTS in app:
        return app[RESULTS]
    results = _UNINSTALLED.get(app)
    if results is None:
        results = _UNINSTALLED[app] = CommandResults(app[BUS])
    return results


async def send_command(
    request: web.Request, command: Command, *, timeout: float | None = None, subject: str | None = None
) -> CommandResult:
    """Send ``command`` on behalf of ``request`` and return the event that answered it."""
    if timeout is None:
        timeout = (request.app[CONFIG].command_timeout if CONFIG in request.app else None) or COMMAND_TIMEOUT
    return await results_of(request.app).send(command, timeout=timeout, subject=subject)


async def ask[R: Reply](request: web.Request, query: Query, reply_type: type[R], *, timeout: float | None = None) -> R:
    """Ask ``query`` and return its reply as ``reply_type``; a reply of another type is a 502."""
    if timeout is None:
        timeout = (request.app[CONFIG].query_timeout if CONFIG in request.app else None) or QUERY_TIMEOUT
    return await reply_of(request.app[BUS], query, reply_type, timeout=timeout)


async def reply_of[R: Reply](bus: Bus, query: Query, reply_type: type[R], *, timeout: float) -> R:
    """Ask ``query`` on ``bus`` and return its reply as ``reply_type``; a reply of another type is a 502."""
    reply = await bus.ask(query, timeout=timeout)
    if not isinstance(reply, reply_type):
        raise QueryFailed(f"{query.owner()} answered {query.message_type} with {type(reply).__name__}")
    return reply


async def raw_reply_of(
    bus: Bus, query: Query, reply_type: type[Reply], *, timeout: float, known: RawReply | None = None
) -> RawReply:
    """Ask ``query`` on ``bus`` for a route that relays the reply: its JSON as written (:meth:`Bus.ask_raw`,
    ``known`` the reply held from the last time); a reply of another type than ``reply_type`` is a 502."""
    raw = await bus.ask_raw(query, timeout=timeout, known=known)
    if not issubclass(raw.reply_type, reply_type):
        raise QueryFailed(f"{query.owner()} answered {query.message_type} with {raw.reply_type.__name__}")
    return raw
