"""The CLI's way to the gateway when no ``GENNAKER_AMQP_URL`` is set: plain HTTP to its routes.

A request is one ``http.client`` exchange in a worker thread: the standard library's client
costs a command nothing to import, where aiohttp's took a quarter of its start-up
(``benchmarks/cli.py``). Only the event stream, a long-lived read, uses aiohttp.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

from gennaker.commands._common import CliError

if TYPE_CHECKING:  # aiohttp is imported when a stream is followed, so other commands need none
    import aiohttp

    from gennaker.client_settings import GatewayAccess

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the gateway to accept the connection."""
REQUEST_TIMEOUT = 30.0
"""Seconds the gateway may take to answer (each read of the answer)."""
MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)


class GatewayClient:
    """Calls the gateway at ``base_url``; every failure becomes a :class:`CliError` saying what to do."""

    def __init__(self, base_url: str, *, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def for_settings(cls, settings: GatewayAccess) -> GatewayClient:
        """The gateway the settings name, called with the settings' API token (``GENNAKER_TOKEN``)."""
        return cls(settings.client_gateway_url(), token=settings.token)

    async def close(self) -> None:
        """Release the event stream's connection pool, if a stream was followed."""
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _unreachable(self, error: Exception) -> CliError:
        return CliError(
            f"cannot reach the gateway at {self.base_url}: {error}; start `gennaker up`, "
            "set GENNAKER_GATEWAY_URL to where it runs, or set GENNAKER_AMQP_URL to use RabbitMQ directly"
        )

    async def request(self, method: str, path: str, *, body: Any = None) -> Any:
        """Send one request and return its JSON body; a 4xx is exit status 2, anything else 1.

        Redirects are followed (at most ten), a 303 as a GET, as aiohttp did.
        """
        try:
            status, text = await asyncio.to_thread(self._exchange, method, self.base_url + path, body)
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, not HTTP
            raise self._unreachable(error) from None
        if status >= 400:
            raise GatewayRefused(status, f"{method} {unquote(path)}", error_text(status, text))
        return json.loads(text) if text.strip() else None

    def _exchange(self, method: str, url: str, body: Any) -> tuple[int, str]:
        """The status and text of the answer to ``method url``, after any redirects (blocking)."""
        payload = None if body is None else json.dumps(body).encode()
        for _ in range(MAX_REDIRECTS + 1):
            status, location, text = _send(method, url, payload, self._headers)
            if status not in REDIRECTS or location is None:
                return status, text
            url = urljoin(url, location)
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, payload = "GET", None
        raise http.client.HTTPException(f"more than {MAX_REDIRECTS} redirects")

    async def stream(self, path: str, params: list[tuple[str, str]]) -> AsyncIterator[str]:
        """Yield the ``data`` of each server-sent event at ``path`` until the gateway ends the stream."""
        import aiohttp
        import structlog

        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT), headers=self._headers
            )
        try:
            async with self._session.get(
                self.base_url + path, params=params, headers={"Accept": "text/event-stream"}
            ) as response:
                if response.status >= 400:
                    text = await response.text()
                    raise GatewayRefused(response.status, f"GET {path}", error_text(response.status, text))
                structlog.get_logger("gennaker.cli").info("following events", url=self.base_url + path, params=params)
                data: list[str] = []
                async for raw in response.content:
                    line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                    if not line:
                        if data:
                            yield "\n".join(data)
                        data = []
                    elif line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
        except aiohttp.ClientError as error:
            raise self._unreachable(error) from None


def _send(method: str, url: str, payload: bytes | None, headers: dict[str, str]) -> tuple[int, str | None, str]:
    """One HTTP exchange on its own connection: the status, the ``Location`` header and the body as text."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise http.client.HTTPException(f"{url!r} is not an http:// or https:// URL")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT)
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(REQUEST_TIMEOUT)
        sent = {"Accept": "*/*", **headers}
        if payload is not None:
            sent["Content-Type"] = "application/json"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=payload, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return response.status, response.getheader("Location"), _text(data, response.headers.get_content_charset())
    finally:
        connection.close()


def _text(data: bytes, charset: str | None) -> str:
    """``data`` decoded by the charset its ``Content-Type`` names, else (or when unknown) as UTF-8."""
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


class GatewayRefused(CliError):
    """The gateway answered an error ``status``: exit status 2 for a 4xx (the caller can fix it), else 1."""

    def __init__(self, status: int, request: str, reason: str) -> None:
        super().__init__(f"the gateway refused {request} ({status}): {reason}", code=2 if status < 500 else 1)
        self.status = status


def error_text(status: int, text: str) -> str:
    """The part of an error body a person acts on: Gate's ``message``, the ``field`` and any problems."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return text.strip()[:500] or "no details"
    message = str(body.get("message") or body.get("error") or json.dumps(body))
    problems = body.get("problems") or body.get("errors")
    if isinstance(problems, list) and len(problems) > 1:
        message += " " + json.dumps(problems)
    elif body.get("field") and str(body["field"]) not in message:
        message += f" (field: {body['field']})"
    if status == 401:
        message += "; set GENNAKER_TOKEN, or token = ... in the settings file, to a valid API token"
    return message
