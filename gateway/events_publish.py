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
from gateway.errors import ErrorBody, GatewayError, RequestInvalid
from gateway.keys import BUS
from gateway.routing import Response, Route, read_body
from schemas import Event, Message, UnknownMessageType, parse_cloudevent_type, registry
from schemas.base import CLOUDEVENT_TYPE_PREFIX
from schemas.trust import external_models, is_gennaker_name

MAX_NAME = 256
"""CloudEvents attributes an outsider names (``type``, ``source``, ``id``, ``subject``) are at most this long."""


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


async def publish_event(request: web.Request) -> web.Response:
    """Validate and publish through the external path; answers 202 with the envelope as it went on the bus."""
    body = await read_body(request, PublishEvent)
    event = load_event(body.type, body.data)
    bus = request.app[BUS]
    source = body.source or f"/gennaker/gateway/events/{principal_of(request).username[:MAX_NAME]}"
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
    return web.json_response(text=envelope.model_dump_json(exclude_none=True), status=202)


ROUTES = (
    Route(
        "POST",
        "/events",
        publish_event,
        summary="Publish an event from outside",
        description=(
            "A CloudEvent of your own type, or a Gennaker external event (validated against its model), "
            "published as coming from outside. Gennaker's internal types are refused: only its services publish them."
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
