"""Makes the HTTP requests of ``webhook`` stages (``orca.CallWebhook``) and records the responses.

One :class:`aiohttp.ClientSession` per Orca worker, opened at the first call and closed when the
worker stops (:meth:`WebhookCalls.run` is one of the engine's background loops). Before calling,
the handler claims the attempt in the stage's context (a stored write), so a redelivered command,
or one for a stage canceled meanwhile, calls nothing. A worker dying after its claim leaves the
attempt unanswered; its redelivered command finds it claimed and runs the task again, whose deadline
for a claimed call (claim + request timeout + a short grace) then counts it as a failed attempt and
makes the next one, within ``maxAttempts`` (a call whose command is lost outright waits for the
longer deadline counted from when it was sent). So the endpoint sees at most one request
per attempt, and a request may have reached it even though Orca recorded no answer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import structlog

from bus import Bus, MessageContext
from schemas.orca_stages import CallWebhook
from workers.orca.engine.commit import Commit
from workers.orca.engine.model import Json
from workers.orca.engine.stages import answers
from workers.orca.engine.stages.webhook import CALL_KEY

log = structlog.get_logger("gennaker.orca.webhook")

MAX_BODY_BYTES = 1_000_000
"""A larger response body is cut (it is stored in the execution's document)."""


class WebhookCalls:
    """The ``orca.CallWebhook`` handler and the owner of the worker's HTTP session."""

    def __init__(self, commit: Commit) -> None:
        self.commit = commit
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def run(self, bus: Bus) -> None:
        """Background loop: holds nothing open but closes the session when the worker stops."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def call_webhook(self, command: CallWebhook, context: MessageContext) -> None:
        claimed = await answers.claim(self.commit, command, CALL_KEY, context)
        if claimed is answers.Claim.TAKEN:
            # Claimed and never answered: whoever claimed it died or failed (this is a redelivery), or is
            # still at it. The request may have been made, so it is not made again; the task gives the
            # attempt up once the request's timeout has surely passed, and makes the next one.
            await answers.rerun(self.commit, command, CALL_KEY, context)
            return
        if claimed is not answers.Claim.WON:
            return  # done already, or the stage no longer waits (canceled, timed out…)
        answer = await self.request(command)
        log.info(
            "webhook called",
            execution_id=command.execution_id,
            stage_id=command.stage_id,
            attempt=command.attempt,
            url=command.url,
            status_code=answer.get("statusCode"),
            error=answer.get("error"),
        )
        await answers.answer(self.commit, command, CALL_KEY, answer, context)

    async def request(self, command: CallWebhook) -> Json:
        """The response as ``{statusCode, headers, body}``, or ``{statusCode: None, error}``."""
        kwargs: dict[str, Any] = {}
        if command.payload is not None and command.method != "GET":
            if isinstance(command.payload, str):
                kwargs["data"] = command.payload
            else:
                kwargs["json"] = command.payload
        try:
            async with self.session().request(
                command.method,
                command.url,
                headers=command.headers,
                timeout=aiohttp.ClientTimeout(total=command.timeout_seconds),
                allow_redirects=command.method == "GET",
                **kwargs,
            ) as response:
                raw = await response.content.read(MAX_BODY_BYTES)
                return {
                    "statusCode": response.status,
                    "headers": {key: value for key, value in response.headers.items()},
                    "body": _body(_text(raw, response.charset)),
                }
        except TimeoutError:
            return {"statusCode": None, "error": f"the webhook call to {command.url} timed out"}
        except ValueError as error:  # a request aiohttp refuses to make (a bad URL, a header with a newline…)
            return {"statusCode": None, "retryable": False, "error": f"invalid webhook request: {error}"}
        except aiohttp.ClientError as error:
            return {"statusCode": None, "error": f"the webhook call to {command.url} failed: {error!r}"}


def _text(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")


def _body(text: str) -> Any:
    """JSON when the body is JSON (as Orca's best-effort parse), else the text; ``None`` when empty."""
    if not text:
        return None
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text
