"""The CLI's way to the gateway when no ``GENNAKER_AMQP_URL`` is set: plain HTTP to its routes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from gennaker.commands._common import CliError

if TYPE_CHECKING:  # aiohttp is imported when a client is made, so a command's --help and completion need none
    from gennaker.settings import Settings


class GatewayClient:
    """Calls the gateway at ``base_url``; every failure becomes a :class:`CliError` saying what to do."""

    def __init__(self, base_url: str, *, token: str | None = None) -> None:
        import aiohttp

        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10), headers=headers
        )

    @classmethod
    def for_settings(cls, settings: Settings) -> GatewayClient:
        """The gateway the settings name, called with the settings' API token (``GENNAKER_TOKEN``)."""
        return cls(settings.client_gateway_url(), token=settings.token)

    async def close(self) -> None:
        """Release the connection pool."""
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
        """Send one request and return its JSON body; a 4xx is exit status 2, anything else 1."""
        import aiohttp

        try:
            async with self._session.request(
                method, self.base_url + path, json=body, timeout=aiohttp.ClientTimeout(total=30)
            ) as response:
                text = await response.text()
                if response.status >= 400:
                    raise GatewayRefused(
                        response.status, f"{method} {unquote(path)}", error_text(response.status, text)
                    )
                return json.loads(text) if text.strip() else None
        except aiohttp.ClientError as error:
            raise self._unreachable(error) from None
        except TimeoutError as error:
            raise self._unreachable(error) from None

    async def stream(self, path: str, params: list[tuple[str, str]]) -> AsyncIterator[str]:
        """Yield the ``data`` of each server-sent event at ``path`` until the gateway ends the stream."""
        import aiohttp
        import structlog

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
