"""The aiohttp client that carries out the outbound policy, safe against DNS rebinding.

Two sessions, so a pooled connection never crosses from one kind of request to the other: one for
requests an allow-list entry allows, one for the rest. The second checks addresses twice. Before
sending, it resolves the host and refuses if any address is internal, which gives a clear message.
Then every socket its connector opens is checked again, on the address it is about to connect to
(aiohttp's ``socket_factory``): a name that resolved to a public address for the check and to
``127.0.0.1`` for the connection (DNS rebinding), an IP literal, or a redirect to an internal
address never gets a connection. Redirects are followed here, one hop at a time, each hop checked
as a new request.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from ipaddress import ip_address
from typing import Any

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from yarl import URL

from bus.tracing import current_traceparent
from gennaker.outbound.policy import OutboundPolicy, OutboundRefused, Route
from schemas.outbound import OutboundSettings

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
TRACER = trace.get_tracer("gennaker.outbound")
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "private-token"})


class _AddressRefused(OSError):
    """Raised by the guarded socket factory; one message for all, so aiohappyeyeballs keeps the type."""

    def __init__(self) -> None:
        super().__init__(errno.EACCES, "outbound connection refused: the address connected to is internal")


class OutboundClient:
    """HTTP requests to URLs users name, made only where :class:`OutboundSettings` allows.

    ``async with client.request("POST", url, json=...) as response`` behaves as aiohttp's, except
    that a refused request raises :class:`OutboundRefused` (never an ``aiohttp.ClientError``) and
    redirects are followed only with ``follow_redirects=True``. Sessions open on first use;
    :meth:`close` closes them.
    """

    def __init__(self, settings: OutboundSettings, *, resolver: AbstractResolver | None = None) -> None:
        self.policy = OutboundPolicy(settings)
        self._resolver = resolver
        self._sessions: dict[Route, aiohttp.ClientSession] = {}

    def _session(self, route: Route) -> aiohttp.ClientSession:
        session = self._sessions.get(route)
        if session is None or session.closed:
            factory = self._guarded_socket if route is Route.PUBLIC else None
            connector = aiohttp.TCPConnector(resolver=self._resolver, socket_factory=factory)
            session = self._sessions[route] = aiohttp.ClientSession(connector=connector)
        return session

    def _guarded_socket(self, addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        if self.policy.refusal(str(address[0])) is not None:
            raise _AddressRefused()
        return socket.socket(family=family, type=type_, proto=proto)

    async def _addresses(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` names: itself when it is an IP literal, else what it resolves to."""
        try:
            ip_address(host.split("%", 1)[0])
        except ValueError:
            pass
        else:
            return [host]
        try:
            if self._resolver is not None:
                return [str(entry["host"]) for entry in await self._resolver.resolve(host, port, socket.AF_UNSPEC)]
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return []  # the connector's own resolution fails the same way and reports it as aiohttp does
        return [str(info[4][0]) for info in infos]

    async def _check_resolved(self, method: str, url: URL) -> None:
        for address in await self._addresses(url.raw_host or "", url.port or 0):
            if (reason := self.policy.refusal(address)) is not None:
                raise self.policy.refused(method, str(url), reason)

    @asynccontextmanager
    async def request(
        self, method: str, url: str, *, follow_redirects: bool = False, **kwargs: Any
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Make ``method url`` (aiohttp's keyword arguments) if the policy allows it; see the class.

        The call is a client span of the current trace, and carries it on as ``traceparent``.
        """
        target = URL(url)
        with TRACER.start_as_current_span(
            f"{method} {target.host or ''}", kind=SpanKind.CLIENT, record_exception=False
        ) as span:
            if span.is_recording():
                span.set_attributes({"http.request.method": method, "url.full": str(target.with_query(None))})
            if (traceparent := current_traceparent()) is not None:
                kwargs["headers"] = {**dict(kwargs.get("headers") or {}), "traceparent": traceparent}
            async with self._request(method, target, follow_redirects, kwargs) as response:
                if span.is_recording():
                    span.set_attribute("http.response.status_code", response.status)
                    if response.status >= 500:
                        span.set_status(StatusCode.ERROR)
                yield response

    @asynccontextmanager
    async def _request(
        self, method: str, target: URL, follow_redirects: bool, kwargs: dict[str, Any]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        hops_left = self.policy.settings.max_redirects if follow_redirects else 0
        while True:
            route = self.policy.route(method, str(target))
            if route is Route.PUBLIC:
                await self._check_resolved(method, target)
            try:
                response = await self._session(route).request(method, target, allow_redirects=False, **kwargs)
            except aiohttp.ClientConnectorError as error:
                if isinstance(error.os_error, _AddressRefused):
                    raise self.policy.refused(method, str(target), "an internal address") from None
                raise
            location = response.headers.get("Location")
            if hops_left <= 0 or response.status not in REDIRECT_STATUSES or not location:
                break
            response.release()
            hops_left -= 1
            following = target.join(URL(location))
            if following.origin() != target.origin() and "headers" in kwargs:
                kwargs["headers"] = {
                    key: value
                    for key, value in dict(kwargs["headers"]).items()
                    if key.lower() not in CREDENTIAL_HEADERS
                }
            target = following
        try:
            yield response
        finally:
            response.release()

    def post(self, url: str, **kwargs: Any) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """``request("POST", url, ...)``."""
        return self.request("POST", url, **kwargs)

    async def close(self) -> None:
        """Close the sessions (a later request opens new ones)."""
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()


__all__ = ["OutboundClient", "OutboundRefused"]
