"""Makes the HTTP requests of ``webhook`` stages (``orca.CallWebhook``) and records the responses.

One :class:`gennaker.outbound.OutboundClient` per Orca worker, so a call goes only where the
``outbound`` settings allow (a refused call stores the refusal, never a body); its sessions close
when the worker stops (:meth:`WebhookCalls.run` is one of the engine's background loops), once the
calls in flight have ended. Before calling, the handler claims the attempt in the stage's context (a stored
write), so a redelivered command, or one for a stage canceled meanwhile, calls nothing.

A call, once claimed, runs to its end and stores its answer even if the handler awaiting it is
cancelled (RabbitMQ closing the channel cancels the handlers on it): the handler's message is left
unacknowledged, and its redelivery finds the call still in flight in this process and waits for
it, or finds it answered. A redelivery reaching another worker finds the attempt claimed and runs
the task again, whose deadline for a claimed call (claim + request timeout + a short grace) lets
the claimer store its answer first; only a claimer that died leaves the attempt unanswered, and
then the task counts it as failed and makes the next one, within ``maxAttempts``, with the same
``Idempotency-Key`` (a call whose command is lost outright waits for the longer deadline counted
from when it was sent). Every attempt after the first is logged with the reason it is made.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import structlog

from bus import Bus, MessageContext
from gennaker.outbound import OutboundClient, OutboundRefused
from schemas import idempotency
from schemas.json_types import Json
from schemas.orca_stages import CallWebhook
from workers.orca.engine.commit import Commit
from workers.orca.engine.effects import answers
from workers.orca.engine.stages.webhook import CALL_KEY

log = structlog.get_logger("gennaker.orca.webhook")

MAX_BODY_BYTES = 1_000_000
"""A larger response body is cut (it is stored in the execution's document)."""


class WebhookCalls:
    """The ``orca.CallWebhook`` handler and the owner of the worker's HTTP session."""

    STOP_WAIT_SECONDS = 30.0
    """How long a stopping worker waits for its calls in flight before closing the session."""

    def __init__(self, commit: Commit, client: OutboundClient) -> None:
        self.commit = commit
        self.client = client
        self._in_flight: dict[tuple[str, str, str, int], asyncio.Task[None]] = {}

    async def close(self) -> None:
        """Let the calls in flight end (for a while), then close the session."""
        running = [task for task in self._in_flight.values() if not task.done()]
        if running:
            await asyncio.wait(running, timeout=self.STOP_WAIT_SECONDS)
        await self.client.close()

    async def run(self, bus: Bus) -> None:
        """Background loop: holds nothing open but closes the session when the worker stops."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def call_webhook(self, command: CallWebhook, context: MessageContext) -> None:
        key = (command.execution_id, command.stage_id, command.task_id, command.attempt)
        call = self._in_flight.get(key)
        if call is None:
            call = asyncio.create_task(self._claim_and_call(command, context), name=f"webhook call {key}")
            self._in_flight[key] = call
            call.add_done_callback(lambda done: self._ended(key, done, command))
        else:
            log.info("webhook call redelivered while in flight here; waiting for its answer", **_fields(command))
        try:
            await asyncio.shield(call)
        except asyncio.CancelledError:
            if not call.done():
                log.warning(
                    "webhook handler cancelled mid-call; the call goes on and stores its answer, "
                    "and the message is left for redelivery",
                    **_fields(command),
                )
            raise

    def _ended(self, key: tuple[str, str, str, int], call: asyncio.Task[None], command: CallWebhook) -> None:
        self._in_flight.pop(key, None)
        if not call.cancelled() and (error := call.exception()) is not None:
            # whoever awaited it was cancelled (its message is redelivered): say what happened here
            log.warning("webhook call failed before its answer was stored", error=repr(error), **_fields(command))

    async def _claim_and_call(self, command: CallWebhook, context: MessageContext) -> None:
        claimed = await answers.claim(self.commit, command, CALL_KEY, context)
        if claimed is answers.Claim.TAKEN:
            # Claimed by a handler of another worker (or an earlier life of this one) that stored no
            # answer: it is still at it, or it died. The request may have been made, so it is not made
            # again here; the task waits for the claimer's answer until the request's timeout has surely
            # passed, then makes the next attempt with the same Idempotency-Key.
            log.warning(
                "webhook call claimed elsewhere and not answered yet; not calling again, the task gives the "
                "attempt up if no answer comes within its timeout",
                **_fields(command),
            )
            await answers.rerun(self.commit, command, CALL_KEY, context)
            return
        if claimed is not answers.Claim.WON:
            return  # done already, or the stage no longer waits (canceled, timed out…)
        if command.retry_reason is not None:
            log.warning("webhook call retried", reason=command.retry_reason, **_fields(command))
        answer = await self.request(command)
        log.info(
            "webhook called",
            status_code=answer.get("statusCode"),
            error=answer.get("error"),
            **_fields(command),
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
        headers = dict(command.headers)
        if command.idempotency_key is not None and not idempotency.has_header(headers):
            headers[idempotency.HEADER] = idempotency.header_value(command.idempotency_key)
        try:
            async with self.client.request(
                command.method,
                command.url,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=command.timeout_seconds),
                follow_redirects=command.method == "GET",
                **kwargs,
            ) as response:
                raw = await response.content.read(MAX_BODY_BYTES)
                return {
                    "statusCode": response.status,
                    "headers": {key: value for key, value in response.headers.items()},
                    "body": _body(_text(raw, response.charset)),
                }
        except OutboundRefused as refusal:
            return {"statusCode": None, "retryable": False, "error": str(refusal)}
        except TimeoutError:
            return {"statusCode": None, "error": f"the webhook call to {command.url} timed out"}
        except ValueError as error:  # a request aiohttp refuses to make (a bad URL, a header with a newline…)
            return {"statusCode": None, "retryable": False, "error": f"invalid webhook request: {error}"}
        except aiohttp.ClientError as error:
            return {"statusCode": None, "error": f"the webhook call to {command.url} failed: {error!r}"}


def _fields(command: CallWebhook) -> dict[str, object]:
    """What names a call in the log."""
    return {
        "execution_id": command.execution_id,
        "stage_id": command.stage_id,
        "task_id": command.task_id,
        "attempt": command.attempt,
        "url": command.url,
        "idempotency_key": command.idempotency_key,
    }


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
