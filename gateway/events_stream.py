"""``GET /events/stream``: follow the bus's events live as server-sent events.

Each client gets its own private, non-durable event queue bound with the client's topic patterns;
it lives exactly as long as the connection. Operators use it (and ``gennaker events tail``) to
watch a pipeline run without reading logs.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web
from pydantic import Field, field_validator

from bus import Endpoint, Envelope, MessageContext
from gateway import sse
from gateway.access import may_read_application
from gateway.api_model import ApiModel
from gateway.auth import principal_of
from gateway.errors import ErrorBody
from gateway.keys import BUS, CONFIG
from gateway.metrics import EVENT_STREAMS_OPEN
from gateway.routing import Response, Route, read_query

TAP_SERVICE = "gateway-sse"


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

    @field_validator("pattern")
    @classmethod
    def _patterns_are_topics(cls, patterns: list[str]) -> list[str]:
        if not patterns:
            raise ValueError("give at least one pattern, e.g. '#'")
        for pattern in patterns:
            if not pattern or any(not word or word.strip() != word for word in pattern.split(".")):
                raise ValueError(f"{pattern!r} is not a topic pattern: dot-separated words, '*' or '#', e.g. 'orca.#'")
        return patterns

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
    """Whether the stream's caller may READ an event's application, remembered for a short while.

    A caller sees only the events of applications they may READ, as in every list the gateway serves.
    """

    REMEMBER_SECONDS = 30.0

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._everything = principal_of(request).admin
        self._known: dict[str, tuple[bool, float]] = {}

    async def admit(self, envelope: Envelope) -> bool:
        """True when the event names no application, or one the caller may READ."""
        if self._everything:
            return True
        name = application_of(envelope)
        if name is None:
            return True
        key = name.lower()
        now = asyncio.get_running_loop().time()
        known = self._known.get(key)
        if known is None or known[1] < now:
            known = (await may_read_application(self._request, key), now + self.REMEMBER_SECONDS)
            self._known[key] = known
        return known[0]


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


async def stream_events(request: web.Request) -> web.StreamResponse:
    """Stream matching events until the client disconnects or the gateway shuts down."""
    query = read_query(request, EventStreamQuery)
    bus, config = request.app[BUS], request.app[CONFIG]
    tap = EventTap(query, config.sse_buffer)
    readable = ReadableApplications(request)
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
            while not tap.closed and not _client_gone(request):
                envelope = await tap.next(config.sse_heartbeat)
                if envelope is None:
                    await response.write(sse.comment("heartbeat"))
                elif await readable.admit(envelope):
                    await response.write(
                        sse.frame(id=envelope.id, event=envelope.type, data=envelope.model_dump_json(exclude_none=True))
                    )
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
            "A comment is sent after each idle heartbeat interval."
        ),
        tag="events",
        query=EventStreamQuery,
        responses={
            200: Response("An endless stream of matching events", media_type=sse.MEDIA_TYPE),
            400: Response("A pattern is not a topic pattern", ErrorBody),
        },
    ),
)
