"""``POST /events``: publish one event from outside, validated against its registered model.

Scripts and CI systems use it to raise trigger events without speaking AMQP. The event is checked
before it reaches the bus, so a typo is a 400 naming the field rather than a dead letter later.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field, ValidationError

import schemas.catalog  # noqa: F401  (loads every message model into the registry)
from bus import Envelope
from gateway.api_model import ApiModel
from gateway.correlation import correlation_id
from gateway.errors import ErrorBody, RequestInvalid
from gateway.keys import BUS
from gateway.routing import Response, Route, read_body
from schemas import Event, Message, UnknownMessageType, parse_cloudevent_type, registry
from schemas.base import CLOUDEVENT_TYPE_PREFIX


class PublishEvent(ApiModel):
    """An event to publish: its type name, its fields, and optionally what it is about."""

    type: str = Field(
        description="A registered event type name, or its CloudEvents type to publish an older version",
        examples=["system.worker.started", "io.gennaker.system.worker.started.v1"],
    )
    data: dict[str, Any] = Field(default_factory=dict, description="The event's fields, as its model defines them")
    subject: str | None = Field(default=None, description="The execution or resource the event is about")


def _known_events() -> str:
    names = [model.message_type for model in registry if issubclass(model, Event)]
    return ", ".join(names) or "none"


def load_event(type_name: str, data: dict[str, Any]) -> Event:
    """Validate ``data`` as the event named ``type_name``; raises :class:`RequestInvalid`."""
    name, version = type_name, None
    if type_name.startswith(CLOUDEVENT_TYPE_PREFIX):
        try:
            name, version = parse_cloudevent_type(type_name)
        except ValueError as error:
            raise RequestInvalid(str(error), field="type") from None
    if name not in registry:
        raise RequestInvalid(f"unknown event type {name!r}; known event types: {_known_events()}", field="type")
    model: type[Message] = registry.model(name)
    if not issubclass(model, Event):
        raise RequestInvalid(
            f"{name!r} is a {model.message_kind}, not an event; only events can be published here", field="type"
        )
    try:
        event = registry.load(name, version or model.message_version, data)
    except UnknownMessageType as error:
        raise RequestInvalid(str(error), field="type") from None
    except ValidationError as error:
        raise RequestInvalid.from_validation(error, what=f"{name} event", prefix=("data",)) from None
    assert isinstance(event, Event)
    return event


async def publish_event(request: web.Request) -> web.Response:
    """Validate and publish; answers 202 with the envelope as it went on the bus."""
    body = await read_body(request, PublishEvent)
    event = load_event(body.type, body.data)
    bus = request.app[BUS]
    envelope = bus.envelope(event, subject=body.subject)
    envelope.correlationid = correlation_id(request)
    await bus.publish_envelope(envelope, routing_key=event.message_type)
    return web.json_response(text=envelope.model_dump_json(exclude_none=True), status=202)


ROUTES = (
    Route(
        "POST",
        "/events",
        publish_event,
        summary="Publish an event",
        description="The event is validated against its registered model and published under its type name.",
        tag="events",
        body=PublishEvent,
        responses={
            202: Response("Published; the CloudEvents envelope as sent", Envelope),
            400: Response("Unknown type, not an event, or a field is invalid", ErrorBody),
        },
    ),
)
