"""``GET /events/stream``: follow the bus's events live as server-sent events, resuming after a gap.

Each client gets its own private, non-durable event queue bound with the client's topic patterns;
it lives exactly as long as the connection. Operators use it (and ``gennaker events tail``) to
watch a pipeline run without reading logs.

Every frame's ``id:`` is the CloudEvent's id. A client that reconnects with ``Last-Event-ID`` (as
browsers' ``EventSource`` do by themselves) or ``?lastEventId=`` first gets the events it missed:
the gateway binds the client's live queue, then asks Echo for the events after that id from the
bounded history Echo keeps (``echo.ListRecentEvents``; see ``workers/echo/triggers/history.py``:
in MongoDB, so it survives a gateway restart and any gateway replica can answer), replays the ones
passing the client's filters, and then streams live, skipping what it already replayed. When the
id is too old to be in the history, a comment says so and everything kept is replayed; when Echo
does not answer, a comment says so and the stream goes on live. The one gap left: an event
published just before the live queue was bound that Echo has not recorded yet when asked.

Who sees what (:class:`ReadableApplications`): the whole stream, across applications and with the
events that name none, is for admins; anybody else gets only the events of applications they may
READ at the moment the event is passed on, and a 403 for ``application=`` naming one they may not.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web
from pydantic import Field, field_validator

from bus import BusError, Endpoint, Envelope, MessageContext, topic_matches
from gateway import sse
from gateway.access import last_known_application, permissions_of
from gateway.api_model import ApiModel
from gateway.auth import AccessDenied, Permission, can, principal_of
from gateway.errors import ErrorBody
from gateway.gate_api import SpinnakerError
from gateway.keys import BUS, CONFIG
from gateway.metrics import EVENT_STREAMS_OPEN
from gateway.routing import Response, Route, read_query
from schemas import parse_cloudevent_type
from schemas.echo import ListRecentEvents, RecentEvents
from schemas.secrets import redact

TAP_SERVICE = "gateway-sse"
REPLAY_LIMIT = 5000
"""The most events one reconnect replays."""
REPLAY_TIMEOUT = 5.0
"""Seconds the gateway waits for Echo's history before streaming live without it."""


class EventStreamQuery(ApiModel):
    """Which events to follow: routing-key patterns, narrowed by application or execution."""

    pattern: list[str] = Field(
        default_factory=lambda: ["#"],
        description="AMQP topic pattern over event type names ('*' one word, '#' any); repeat for several",
        examples=[["orca.#"]],
    )
    application: str | None = Field(
        default=None, description="only events whose subject or data.application is this application"
    )
    execution: str | None = Field(
        default=None, description="only events whose subject or data.executionId is this execution"
    )
    last_event_id: str | None = Field(
        default=None,
        description="resume after this event id (as the Last-Event-ID header does): replay what came after it first",
    )

    @field_validator("pattern")
    @classmethod
    def _patterns_are_topics(cls, patterns: list[str]) -> list[str]:
        if not patterns:
            raise ValueError("give at least one pattern, e.g. '#'")
        for pattern in patterns:
            if not pattern or any(not word or word.strip() != word for word in pattern.split(".")):
                raise ValueError(f"{pattern!r} is not a topic pattern: dot-separated words, '*' or '#', e.g. 'orca.#'")
        return patterns

    def routes(self, envelope: Envelope) -> bool:
        """True when ``envelope``'s routing key (its Gennaker type name, else its type) matches a pattern."""
        try:
            key = parse_cloudevent_type(envelope.type)[0]
        except ValueError:
            key = envelope.type
        return any(topic_matches(pattern, key) for pattern in self.pattern)

    def admits(self, envelope: Envelope) -> bool:
        """True when ``envelope`` passes the application and execution filters."""
        data = envelope.data
        if self.application is not None and self.application not in (envelope.subject, data.get("application")):
            return False
        return self.execution is None or self.execution in (
            envelope.subject,
            data.get("executionId"),
            data.get("execution_id"),
        )


def application_of(envelope: Envelope) -> str | None:
    """The application an event is about, wherever its message keeps it; None for system events."""
    data = envelope.data
    for holder in (data, data.get("pipeline"), data.get("task"), data.get("execution")):
        if isinstance(holder, dict):
            value = holder.get("application")
            if isinstance(value, dict):
                value = value.get("name")
            if isinstance(value, str) and value:
                return value
    if envelope.type.startswith("io.gennaker.front50.application.") and isinstance(data.get("name"), str):
        return str(data["name"])
    return None


class ReadableApplications:
    """Whether the stream's caller may READ an event's application, judged with current permissions.

    Admins see every event. Anybody else sees an event only when it names an application they may
    READ now: an event naming none (a worker starting, a webhook's outcome across applications)
    is for admins only, and so is an event of an application Front50 has never stored — it is
    judged by its permissions once it exists. The permissions come from :mod:`gateway.known_applications`,
    which forgets an application the moment Front50 saves or deletes it; no verdict is remembered.
    """

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._principal = principal_of(request)

    async def admit(self, envelope: Envelope) -> bool:
        """True when the caller is an admin, or the event names an application the caller may READ."""
        if self._principal.admin:
            return True
        name = application_of(envelope)
        return name is not None and await self.may_read(name)

    async def may_read(self, name: str) -> bool:
        """Whether the caller may READ application ``name`` now; never, if it was never stored."""
        if self._principal.admin:
            return True
        application = await last_known_application(self._request, name)
        return application is not None and can(self._principal, permissions_of(application), Permission.READ)


class EventTap:
    """Hands events from the bus's consumer to one client's response loop, in order.

    The bus calls :meth:`deliver`; when the buffer is full it waits, which holds back the bus's
    consumer (the private queue absorbs the rest). :meth:`close` ends the stream from either side.
    """

    def __init__(self, query: EventStreamQuery, buffer: int) -> None:
        self.query = query
        self.closed = False
        self._buffer: asyncio.Queue[Envelope | None] = asyncio.Queue(maxsize=max(buffer, 2))

    async def deliver(self, envelope: Envelope, context: MessageContext) -> None:
        """Raw handler of the client's endpoint."""
        if not self.closed and self.query.admits(envelope):
            await self._buffer.put(envelope)

    async def next(self, timeout: float) -> Envelope | None:
        """The next event, or ``None`` after ``timeout`` idle seconds or once closed."""
        try:
            return await asyncio.wait_for(self._buffer.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        """Stop accepting events and wake the response loop; a blocked :meth:`deliver` finishes."""
        self.closed = True
        while not self._buffer.empty():
            self._buffer.get_nowait()
        self._buffer.put_nowait(None)


OPEN_TAPS = web.AppKey("event_taps", set[EventTap])
"""Streams open right now, closed when the app shuts down so it need not wait for clients."""


def _client_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def _frame(envelope: Envelope) -> bytes:
    shown = envelope.model_copy(update={"data": redact(envelope.data)})
    return sse.frame(id=envelope.id, event=envelope.type, data=shown.model_dump_json(exclude_none=True))


async def _missed(request: web.Request, query: EventStreamQuery, after: str) -> tuple[list[Envelope], str | None]:
    """The events after ``after`` that pass the stream's filters, and a note for the client, if any."""
    try:
        reply = await request.app[BUS].ask(ListRecentEvents(after=after, limit=REPLAY_LIMIT), timeout=REPLAY_TIMEOUT)
    except BusError as error:
        return [], f"cannot replay events after {after}: Echo's event history did not answer ({error}); live from here"
    if not isinstance(reply, RecentEvents):
        return [], f"cannot replay events after {after}: unexpected answer {type(reply).__name__}"
    events = [Envelope.model_validate(event) for event in reply.events]
    note = None
    if not reply.found:
        note = f"event {after} is no longer in the recent history; replaying the {len(events)} events kept"
    return [event for event in events if query.routes(event) and query.admits(event)], note


async def stream_events(request: web.Request) -> web.StreamResponse:
    """Stream matching events (first the ones missed after ``Last-Event-ID``) until the client or gateway leaves."""
    query = read_query(request, EventStreamQuery)
    resume_after = request.headers.get("Last-Event-ID") or query.last_event_id
    bus, config = request.app[BUS], request.app[CONFIG]
    tap = EventTap(query, config.sse_buffer)
    readable = ReadableApplications(request)
    if query.application is not None and not await readable.may_read(query.application):
        raise AccessDenied(f"Access denied to application {query.application} - required authorization: READ")
    endpoint = Endpoint(
        service=TAP_SERVICE,
        kind="events",
        patterns=tuple(query.pattern),
        raw_handler=tap.deliver,
        durable=False,
        prefetch=1,
    )
    consumption = await bus.consume(endpoint)
    request.app[OPEN_TAPS].add(tap)
    EVENT_STREAMS_OPEN.inc()
    try:
        response = await sse.open_stream(request)
        with contextlib.suppress(ConnectionResetError):
            await response.write(sse.comment(f"following {' '.join(query.pattern)}"))
            replayed: set[str] = set()
            if resume_after:
                missed, note = await _missed(request, query, resume_after)
                if note:
                    await response.write(sse.comment(note))
                for event in missed:
                    replayed.add(event.id)
                    if await readable.admit(event):
                        await response.write(_frame(event))
            while not tap.closed and not _client_gone(request):
                envelope = await tap.next(config.sse_heartbeat)
                if envelope is None:
                    await response.write(sse.comment("heartbeat"))
                elif envelope.id in replayed:
                    replayed.discard(envelope.id)
                elif await readable.admit(envelope):
                    await response.write(_frame(envelope))
        return response
    finally:
        request.app[OPEN_TAPS].discard(tap)
        if not tap.closed:
            tap.close()
        try:
            await consumption.stop()
        finally:
            EVENT_STREAMS_OPEN.dec()


async def close_event_streams(app: web.Application) -> None:
    """``on_shutdown`` hook: end every open stream so shutdown does not wait on idle clients."""
    taps: set[EventTap] = app[OPEN_TAPS]
    for tap in list(taps):
        tap.close()


ROUTES = (
    Route(
        "GET",
        "/events/stream",
        stream_events,
        summary="Follow events live (server-sent events)",
        description=(
            "Each frame is one CloudEvent: `id` is the envelope id, `event` its type, `data` the envelope JSON. "
            "A comment is sent after each idle heartbeat interval. Reconnect with the `Last-Event-ID` header "
            "(or `lastEventId`) to be sent first the matching events that came after that id, from Echo's "
            "bounded recent-events history. Admins see every event; anybody else only the events of "
            "applications they may READ (events naming no application are for admins only)."
        ),
        tag="events",
        query=EventStreamQuery,
        responses={
            200: Response("An endless stream of matching events", media_type=sse.MEDIA_TYPE),
            400: Response("A pattern is not a topic pattern", ErrorBody),
            403: Response("The caller may not READ the application named by `application`", SpinnakerError),
        },
    ),
)
