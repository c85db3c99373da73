"""The transport-neutral heart of every consumer: decode, validate, handle, decide.

Both buses hand each received body to :func:`dispatch` and carry out the :class:`Verdict` it
returns (ack, retry later, or dead-letter), so routing, retry and dead-letter semantics are the
same in memory and on RabbitMQ by construction.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import structlog
from opentelemetry.trace import StatusCode
from pydantic import ValidationError

from bus import log_fields, metrics, tracing
from bus.context import MessageContext
from bus.encoded import EncodedReply
from bus.endpoint import EXTERNAL_EXCHANGE, Endpoint
from bus.envelope import Envelope
from bus.errors import PermanentError
from bus.replies import ERROR_REPLY_TYPE, HELD, TAG, UNCHANGED, with_data
from bus.retry import RetryPolicy
from schemas import Query, UnknownMessageType, parse_cloudevent_type, registry
from schemas.trust import is_internal
from schemas.validation import describe_problems

if TYPE_CHECKING:
    from bus.base import Bus

log = structlog.get_logger("gennaker.bus")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the transport must do with a delivery after its handler ran.

    ``reply`` is the body of the reply envelope to a query, ready for the wire.
    """

    action: Literal["ack", "retry", "dead"]
    reason: str | None = None
    traceback: str | None = None
    delay_ms: int = 0
    message_id: str | None = None
    reply: bytes | None = None


def _validation_reason(model_name: str, error: ValidationError) -> str:
    return f"invalid {model_name}: {describe_problems(error)}"


async def dispatch(
    endpoint: Endpoint,
    body: bytes,
    *,
    attempt: int,
    redelivered: bool,
    bus: Bus,
    retry: RetryPolicy,
    external: bool = False,
) -> Verdict:
    """Handle one delivery on ``endpoint`` and say what to do with it. Never raises.

    ``external`` says the delivery came from outside (the transport knows it from the broker, not
    from anything the publisher wrote): an internal type is then dead-lettered before any handler,
    typed or raw, sees it.
    """
    service = endpoint.service
    try:
        envelope = Envelope.from_bytes(body)
    except ValidationError as error:
        return _dead(service, _validation_reason("CloudEvents envelope", error), None)
    if external and is_internal(envelope.type):
        return _dead(service, forged_reason(envelope.type), envelope)
    context = MessageContext(envelope, attempt, redelivered, service, bus, external)
    token = log_fields.handling(service, envelope, attempt)
    try:
        with tracing.handling(envelope, service) as span:
            verdict = await _decide(endpoint, envelope, context, retry, attempt)
            if verdict.action != "ack":
                span.set_status(StatusCode.ERROR, verdict.reason or verdict.action)
            return verdict
    finally:
        log_fields.done(token)


async def _decide(
    endpoint: Endpoint, envelope: Envelope, context: MessageContext, retry: RetryPolicy, attempt: int
) -> Verdict:
    service = endpoint.service
    if endpoint.raw_handler is not None:
        raw_handler = endpoint.raw_handler
        return await _run(endpoint, envelope.type, retry, attempt, envelope, lambda: raw_handler(envelope, context))
    try:
        name, version = parse_cloudevent_type(envelope.type)
    except ValueError as error:
        return _dead(service, f"unknown message type: {error}", envelope)
    handler = endpoint.handlers.get(name)
    if handler is None:
        if endpoint.kind == "events" and name in registry:
            return Verdict("ack", message_id=envelope.id)
        known = "registered but not handled here" if name in registry else "not registered"
        return _dead(service, f"unknown message type {name!r} ({known}) on {endpoint.queue}", envelope)
    try:
        message = registry.load(name, version, envelope.data)
    except UnknownMessageType as error:
        return _dead(service, f"unknown message type: {error}", envelope)
    except ValidationError as error:
        return _dead(service, _validation_reason(f"{name} v{version}", error), envelope)
    if isinstance(message, Query):
        return await _answer(endpoint, message, envelope, context)
    return await _run(endpoint, name, retry, attempt, envelope, lambda: handler(message, context))


def forged_reason(type_: str) -> str:
    """Why an internal type from outside was dead-lettered, and what the outsider should do instead."""
    return (
        f"internal type from an external publisher: {type_!r} came through {EXTERNAL_EXCHANGE} (from outside "
        "the services); only Gennaker's services publish it, so nothing acted on it. Outside systems publish "
        "CloudEvents of their own types (e.g. com.example.build.finished) or use the gateway's API"
    )


async def _run(
    endpoint: Endpoint,
    name: str,
    retry: RetryPolicy,
    attempt: int,
    envelope: Envelope,
    call: Callable[[], Awaitable[object]],
) -> Verdict:
    service = endpoint.service
    meter = metrics.for_handler(service, name)
    meter.in_flight.inc()
    started = time.perf_counter()
    try:
        await call()
    except asyncio.CancelledError:
        # not a failure of the message: its channel closed (or the worker is stopping) under it. It is
        # left unacknowledged, so the broker delivers it again; the handler must expect that.
        meter.cancelled.inc()
        log.warning("handler cancelled before it finished; the message is left for redelivery", message_type=name)
        raise
    except PermanentError as error:
        meter.failed.inc()
        return _dead(service, f"handler refused the message: {error}", envelope, traceback.format_exc())
    except Exception as error:
        meter.failed.inc()
        reason = f"handler failed on attempt {attempt}: {type(error).__name__}: {error}"
        if retry.gives_up_after(attempt):
            return _dead(service, f"{reason} (gave up after {attempt} attempts)", envelope, traceback.format_exc())
        delay = retry.delay_ms(attempt)
        meter.retries.inc()
        log.warning("handler failed, will retry", error=reason, retry_in_ms=delay)
        return Verdict("retry", reason=reason, delay_ms=delay, message_id=envelope.id)
    finally:
        meter.in_flight.dec()
        meter.seconds.observe(time.perf_counter() - started)
    meter.handled.inc()
    return Verdict("ack", message_id=envelope.id)


async def _answer(endpoint: Endpoint, query: Query, envelope: Envelope, context: MessageContext) -> Verdict:
    """Queries are reads: a failure is answered with an error reply at once, never retried."""
    handler = endpoint.handlers[query.message_type]
    service = endpoint.service
    expected = type(query).reply_model
    try:
        reply = await handler(query, context)
        tag: str | None = None
        if isinstance(reply, EncodedReply):
            if not issubclass(reply.reply_type, expected):
                raise TypeError(f"handler returned {reply.reply_type.__name__}, expected {expected.__name__}")
            type_, data, tag = reply.reply_type.cloudevent_type(), reply.json, reply.tag
        elif isinstance(reply, expected):
            type_, data = reply.cloudevent_type(), reply.model_dump_json().encode()
        else:
            raise TypeError(f"handler returned {type(reply).__name__}, expected {expected.__name__}")
    except Exception as error:
        metrics.MESSAGES_FAILED.labels(service, query.message_type).inc()
        log.warning("query failed", error=str(error), exc_info=True)
        failure = {"error": f"{type(error).__name__}: {error}", "service": service}
        return Verdict("ack", message_id=envelope.id, reply=_reply_body(ERROR_REPLY_TYPE, failure, envelope, service))
    metrics.MESSAGES_HANDLED.labels(service, query.message_type).inc()
    return Verdict("ack", message_id=envelope.id, reply=_reply_body(type_, data, envelope, service, tag))


def _reply_body(
    type_: str, data: dict[str, Any] | bytes, request: Envelope, service: str, tag: str | None = None
) -> bytes:
    """The reply envelope's JSON; ``data`` given as JSON bytes is spliced in as it is, never re-walked.

    A reply with a ``tag`` names it (:data:`~bus.replies.TAG`); when the asker said it holds a reply of
    that tag (:data:`~bus.replies.HELD`), the data is left out and the reply says it is unchanged.
    """
    attributes = Envelope(
        source=f"/gennaker/{service}",
        type=type_,
        subject=request.subject,
        correlationid=request.correlationid,
        causationid=request.id,
        traceparent=request.traceparent,
    )
    if tag is not None:
        extensions = attributes.__pydantic_extra__
        assert extensions is not None
        extensions[TAG] = tag
        if (request.__pydantic_extra__ or {}).get(HELD) == tag:
            extensions[UNCHANGED] = True
            return with_data(attributes, b"{}")
    return with_data(attributes, data)


def _dead(service: str, reason: str, envelope: Envelope | None, trace: str | None = None) -> Verdict:
    metrics.DEAD_LETTERS.labels(service, reason.split(":", 1)[0][:60]).inc()
    log.error("message dead-lettered", reason=reason)
    return Verdict("dead", reason=reason, traceback=trace, message_id=envelope.id if envelope else None)


def dead_reply(verdict: Verdict, service: str) -> bytes:
    """The body of the error reply an asker gets when its query itself was dead-lettered."""
    attributes = Envelope(source=f"/gennaker/{service}", type=ERROR_REPLY_TYPE, causationid=verdict.message_id)
    return with_data(attributes, {"error": f"query dead-lettered: {verdict.reason}", "service": service})
