"""``POST /events``: publish one event from outside, as an outsider — never as one of our services.

Scripts and CI systems use it to raise trigger events without speaking AMQP. What they publish goes
onto the bus through the external path (:meth:`bus.Bus.publish_external`; on RabbitMQ the
``gennaker.external`` exchange), so every service knows from the transport that it came from
outside. Two kinds are accepted:

* a foreign CloudEvent (any ``type`` outside Gennaker's ``io.gennaker.`` namespace, such as
  ``com.example.build.finished``): Echo's ``cloudevent`` triggers start the pipelines asking for it;
* a registered :class:`~schemas.ExternalEvent`, validated against its model first, so a typo is a
  400 naming the field rather than a dead letter later.

Every other Gennaker type is internal (:mod:`schemas.trust`): a service acts on it only when another
service published it, so it is refused with 403 naming the type and what to publish instead.

Besides Gennaker's own body (:class:`PublishEvent`), the route speaks the CloudEvents HTTP
binding, so a CI system's CloudEvents client posts without knowing Gennaker:

* structured mode, ``Content-Type: application/cloudevents+json``: the body is one CloudEvent
  (``specversion`` 1.0, ``id``, ``source``, ``type``; ``subject``, ``data``);
* binary mode, ``ce-specversion``, ``ce-id``, ``ce-source``, ``ce-type`` (``ce-subject``) headers
  with the event's ``data`` as the JSON body;
* batches, ``Content-Type: application/cloudevents-batch+json``: a JSON array of structured events,
  at most :data:`MAX_BATCH`, every one checked before any is published (a bad one refuses the
  batch, naming it: ``[2].type``), answered with the envelopes in order.

``data`` must be a JSON object (the fields of the event); ``data_base64`` is refused.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field, ValidationError

import schemas.catalog  # noqa: F401  (loads every message model into the registry)
from bus import Envelope
from gateway.api_model import ApiModel
from gateway.auth.middleware import principal_of
from gateway.correlation import correlation_id
from gateway.errors import ErrorBody, FieldProblem, GatewayError, RequestInvalid
from gateway.keys import BUS
from gateway.routing import Response, Route, read_body, read_json
from schemas import Event, Message, UnknownMessageType, parse_cloudevent_type, registry
from schemas.base import CLOUDEVENT_TYPE_PREFIX
from schemas.trust import external_models, is_gennaker_name

MAX_NAME = 256
"""CloudEvents attributes an outsider names (``type``, ``source``, ``id``, ``subject``) are at most this long."""
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
MAX_BATCH = 100
"""Events one batch may hold."""
REQUIRED = ("specversion", "id", "source", "type")
"""The attributes CloudEvents 1.0 requires of every event."""


class PublishEvent(ApiModel):
    """An event to publish: its type, its fields, and optionally what it is about and who raised it."""

    type: str = Field(
        min_length=1,
        max_length=MAX_NAME,
        description="A CloudEvents type of your own (not io.gennaker.…), or a Gennaker external event's name",
        examples=["com.example.build.finished"],
    )
    data: dict[str, Any] = Field(default_factory=dict, description="The event's fields")
    subject: str | None = Field(
        default=None, max_length=MAX_NAME, description="The execution or resource the event is about"
    )
    source: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME,
        description="The CloudEvents source (default: the gateway, naming the caller); with id, names the event",
        examples=["https://ci.example.com/jobs/shop"],
    )
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME,
        description="The CloudEvents id, unique per source: the same source and id again starts nothing twice",
    )


class InternalEventRefused(GatewayError):
    """The caller named a type only Gennaker's services may publish (403)."""

    status = 403


def _external_events() -> str:
    return ", ".join(model.message_type for model in external_models()) or "none"


def _instead() -> str:
    return (
        "publish a CloudEvent of your own type (e.g. com.example.build.finished; a pipeline's cloudevent "
        f"trigger starts on it) or a Gennaker external event ({_external_events()}), or use the API for what "
        "you want done (e.g. POST /pipelines/{application}/{pipeline} to start a pipeline)"
    )


def load_event(type_name: str, data: dict[str, Any]) -> Event | None:
    """The Gennaker external event ``type_name`` names, validated; ``None`` for a foreign CloudEvent type.

    Raises :class:`InternalEventRefused` for an internal type and :class:`RequestInvalid` for an
    unknown Gennaker name, a non-event or invalid fields.
    """
    name, version = type_name, None
    if type_name.casefold().startswith(CLOUDEVENT_TYPE_PREFIX):
        try:
            name, version = parse_cloudevent_type(type_name)
        except ValueError as error:
            raise RequestInvalid(f"{error}; the io.gennaker. namespace is Gennaker's own", field="type") from None
    elif not is_gennaker_name(type_name):
        return None
    if name not in registry:
        raise RequestInvalid(f"unknown event type {name!r}: Gennaker's names are its own; {_instead()}", field="type")
    model: type[Message] = registry.model(name)
    if not model.published_from_outside:
        raise InternalEventRefused(
            f"{name!r} is an internal {model.message_kind} that only Gennaker's services publish, and they act on "
            f"it only from each other; it cannot be published from outside. Instead, {_instead()}",
            field="type",
        )
    if not issubclass(model, Event):
        raise RequestInvalid(f"{name!r} is a {model.message_kind}, not an event", field="type")
    try:
        event = registry.load(name, version or model.message_version, data)
    except UnknownMessageType as error:
        raise RequestInvalid(str(error), field="type") from None
    except ValidationError as error:
        raise RequestInvalid.from_validation(error, what=f"{name} event", prefix=("data",)) from None
    assert isinstance(event, Event)
    return event


def from_cloudevent(attributes: dict[str, Any], *, where: str = "") -> PublishEvent:
    """A CloudEvent's attributes (structured mode, or binary mode's ``ce-`` headers with the data) as
    :class:`PublishEvent`; 400 naming the attribute (``where`` places it in a batch: ``[2].``)."""
    for name in REQUIRED:
        if not isinstance(attributes.get(name), str) or not attributes[name].strip():
            raise RequestInvalid(f"a CloudEvent needs a non-blank {name!r} attribute", field=f"{where}{name}")
    if attributes["specversion"] != "1.0":
        raise RequestInvalid(
            f"CloudEvents specversion {attributes['specversion']!r} is not supported: send 1.0",
            field=f"{where}specversion",
        )
    if "data_base64" in attributes:
        raise RequestInvalid(
            "binary data (data_base64) is not accepted: send data as a JSON object", field=f"{where}data_base64"
        )
    data = attributes.get("data", {})
    if not isinstance(data, dict):
        raise RequestInvalid("data must be a JSON object: the event's fields", field=f"{where}data")
    fields = {key: attributes.get(key) for key in ("type", "subject", "source", "id")}
    try:
        return PublishEvent.model_validate({**fields, "data": data})
    except ValidationError as error:
        problems = [
            FieldProblem(field=where + ".".join(str(part) for part in item["loc"]), message=item["msg"])
            for item in error.errors()
        ]
        listed = "; ".join(f"{problem.field}: {problem.message}" for problem in problems)
        raise RequestInvalid(f"invalid CloudEvent: {listed}", field=problems[0].field, problems=problems) from None


async def _events_of(request: web.Request) -> tuple[list[PublishEvent], bool]:
    """The events the request carries, in whichever mode it sent them, and whether it was a batch."""
    if request.content_type == BATCH:
        batch = await read_json(request)
        if not isinstance(batch, list) or not batch:
            raise RequestInvalid("a CloudEvents batch is a non-empty JSON array of events", field="body")
        if len(batch) > MAX_BATCH:
            raise RequestInvalid(f"a batch holds at most {MAX_BATCH} events, not {len(batch)}", field="body")
        events: list[PublishEvent] = []
        for index, item in enumerate(batch):
            if not isinstance(item, dict):
                raise RequestInvalid("every event of a batch is a JSON object", field=f"[{index}]")
            events.append(from_cloudevent(item, where=f"[{index}]."))
        return events, True
    if request.content_type == STRUCTURED:
        event = await read_json(request)
        if not isinstance(event, dict):
            raise RequestInvalid("a structured CloudEvent is one JSON object", field="body")
        return [from_cloudevent(event)], False
    if "ce-specversion" in request.headers:
        headers = {key.lower()[3:]: value for key, value in request.headers.items() if key.lower().startswith("ce-")}
        data = await read_json(request)
        return [from_cloudevent({**headers, "data": {} if data is None else data}, where="ce-")], False
    return [await read_body(request, PublishEvent)], False


def _load(body: PublishEvent, index: int | None) -> Event | None:
    """:func:`load_event`, its refusal naming the event's place in a batch (``[2].data.n``)."""
    try:
        return load_event(body.type, body.data)
    except GatewayError as error:
        if index is not None:
            error.field = f"[{index}].{error.field}" if error.field else f"[{index}]"
            error.problems = [FieldProblem(field=f"[{index}].{p.field}", message=p.message) for p in error.problems]
        raise


async def publish_event(request: web.Request) -> web.Response:
    """Validate and publish through the external path; answers 202 with the envelope as it went on the bus
    (a batch: every envelope, in order, once every event of it was found valid)."""
    bodies, batch = await _events_of(request)
    loaded = [_load(body, index if batch else None) for index, body in enumerate(bodies)]  # all, before any is sent
    bus = request.app[BUS]
    default_source = f"/gennaker/gateway/events/{principal_of(request).username[:MAX_NAME]}"
    sent: list[Envelope] = []
    for body, event in zip(bodies, loaded, strict=True):
        source = body.source or default_source
        if event is None:
            envelope = Envelope(source=source, type=body.type, subject=body.subject, data=body.data)
            routing_key = body.type
        else:
            envelope = bus.envelope(event, subject=body.subject)
            envelope.source = source
            routing_key = event.message_type
        if body.id is not None:
            envelope.id = body.id
        envelope.correlationid = correlation_id(request)
        await bus.publish_external(envelope.to_bytes(), routing_key=routing_key)
        sent.append(envelope)
    if batch:
        return web.json_response(
            text="[" + ",".join(envelope.model_dump_json(exclude_none=True) for envelope in sent) + "]", status=202
        )
    return web.json_response(text=sent[0].model_dump_json(exclude_none=True), status=202)


ROUTES = (
    Route(
        "POST",
        "/events",
        publish_event,
        summary="Publish an event from outside",
        description=(
            "A CloudEvent of your own type, or a Gennaker external event (validated against its model), "
            "published as coming from outside. Gennaker's internal types are refused: only its services publish them. "
            "Also speaks the CloudEvents HTTP binding: structured mode (Content-Type: application/cloudevents+json), "
            "binary mode (ce-specversion, ce-id, ce-source, ce-type headers, the data as the body) and batches "
            f"(application/cloudevents-batch+json, at most {MAX_BATCH} events, answered with every envelope)."
        ),
        tag="events",
        body=PublishEvent,
        responses={
            202: Response("Published; the CloudEvents envelope as sent", Envelope),
            400: Response("Unknown Gennaker type, not an event, or a field is invalid", ErrorBody),
            403: Response("An internal type, which only Gennaker's services publish", ErrorBody),
        },
    ),
)
