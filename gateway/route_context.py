"""What a route reaches through its request, resolved once: the bus, the timeouts and the caller.

Gate's routes handed the aiohttp request down every helper, and each helper fetched the bus
(``request.app[BUS]``), the timeouts (``request.app[CONFIG]``), the command results and the caller
(``principal_of``) from it again: a trigger's walk went back and forth eight times. A route now
takes one :class:`RouteContext` (:meth:`RouteContext.of`, built on first use and kept on the
request) and hands that down; the helpers of :mod:`gateway.access` take either, so routes that
still pass the request work unchanged.

Example::

    route = RouteContext.of(request)
    application = await application_for(route, name, Permission.EXECUTE)
    await route.send(StartExecution(..., authority=route.authority), subject=execution_id)
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bus import Bus, QueryFailed, RawReply
from gateway.auth.access import execute_fallback, refuse_unless
from gateway.auth.middleware import principal_of
from gateway.auth.model import Permission, Permissions, Principal
from gateway.command_results import (
    COMMAND_TIMEOUT,
    QUERY_TIMEOUT,
    CommandResult,
    CommandResults,
    raw_reply_of,
    reply_of,
    results_of,
)
from gateway.held_replies import ANNOUNCED, HELD
from gateway.keys import BUS, CONFIG
from schemas.authority import Authority
from schemas.base import Command, Query, Reply


@dataclass(frozen=True)
class RouteContext:
    """One request's bus, command results, timeouts and caller (and the request, for its body,
    path and headers)."""

    request: web.Request
    bus: Bus
    results: CommandResults
    principal: Principal
    command_timeout: float
    query_timeout: float
    execute_fallback: Permission

    @classmethod
    def of(cls, source: web.Request | RouteContext) -> RouteContext:
        """The context of ``source`` (itself when it is one), built once per request."""
        if isinstance(source, RouteContext):
            return source
        found = source.get(_KEY)
        if found is None:
            app = source.app
            config = app.get(CONFIG)
            found = cls(
                request=source,
                bus=app[BUS],
                results=results_of(app),
                principal=principal_of(source),
                command_timeout=(config.command_timeout if config else None) or COMMAND_TIMEOUT,
                query_timeout=(config.query_timeout if config else None) or QUERY_TIMEOUT,
                execute_fallback=execute_fallback(app),
            )
            source[_KEY] = found
        return found

    @property
    def authority(self) -> Authority:
        """What a command sent for the caller carries."""
        return self.principal.authority()

    async def ask[R: Reply](self, query: Query, reply_type: type[R]) -> R:
        """Ask ``query`` and return its reply as ``reply_type`` (another type is a 502); a reply of a service
        that announces its changes is held, and answered again while current (:meth:`ask_raw`)."""
        if query.owner() not in ANNOUNCED:
            return await reply_of(self.bus, query, reply_type, timeout=self.query_timeout)
        reply = (await self.ask_raw(query, reply_type)).model()
        if not isinstance(reply, reply_type):
            raise QueryFailed(f"{query.owner()} answered {query.message_type} with {type(reply).__name__}")
        return reply

    async def ask_raw(self, query: Query, reply_type: type[Reply]) -> RawReply:
        """Ask ``query`` for a route that relays the reply: its JSON as the service wrote it, checked to be
        ``reply_type`` (another type is a 502) but not decoded (:meth:`bus.Bus.ask_raw`); an answer
        unchanged since the last one held (:mod:`gateway.held_replies`) does not travel again, and one
        held from a service that has announced no change since is answered without asking."""
        key = HELD.key(query)
        current = HELD.current(key, self.results)
        if current is not None and issubclass(current.reply_type, reply_type):
            return current
        known = HELD.get(key)
        asked = self.results.seen(query.owner())
        raw = await raw_reply_of(self.bus, query, reply_type, timeout=self.query_timeout, known=known)
        HELD.keep(key, raw, asked=asked)
        return raw

    async def send(self, command: Command, *, subject: str | None = None) -> CommandResult:
        """Send ``command`` and return the event that answered it (see :class:`CommandResults`)."""
        return await self.results.send(command, timeout=self.command_timeout, subject=subject)

    def require(self, permissions: Permissions | None, action: Permission, *, resource: str) -> None:
        """Fiat's 403 unless the caller may ``action`` the resource named ``resource`` (``application shop``)."""
        refuse_unless(self.principal, permissions, action, resource=resource, execute_fallback=self.execute_fallback)


_KEY = web.RequestKey("route_context", RouteContext)
