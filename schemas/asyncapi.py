"""Builds the AsyncAPI 3.0.0 document for every registered message, from the models themselves.

``schemas`` knows nothing of transport, yet an AsyncAPI document must name exchanges and queues.
Those few facts are therefore data: a :class:`Topology` value that the caller may pass, whose
defaults mirror ``bus/endpoint.py`` and ``bus/dead_letter.py``. A unit test
(``tests/unit/test_schema_export.py``) holds the two equal, so the document cannot drift from the
bus without a red test, while this module still imports nothing from ``bus``.

The body of every message on the wire is a structured-mode CloudEvent (see
:data:`CLOUDEVENT_SCHEMA`); each message's payload is that envelope with ``type`` fixed to the
message's CloudEvents type and ``data`` described by the model's JSON Schema.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from pydantic.json_schema import models_json_schema

from schemas.base import Message, Query, Reply
from schemas.registry import MessageRegistry
from schemas.services import SERVICES

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"
ANY_SERVICE = "anyService"
"""Channel-id stem for messages every service accepts (``system.Ping``): addressed with ``to=``."""

CLOUDEVENT_SCHEMA: dict[str, Any] = {
    "title": "CloudEvent",
    "description": (
        "A CloudEvents 1.0 event in structured JSON mode: the whole AMQP body. Gennaker adds the "
        "extensions correlationid (one user action end to end), causationid (the id of the message "
        "whose handler sent this one) and traceparent (W3C trace context: the span that sent it, in "
        "the trace of the request that began the action)."
    ),
    "type": "object",
    "properties": {
        "specversion": {"const": "1.0", "description": "CloudEvents version."},
        "id": {"type": "string", "minLength": 1, "description": "Unique per message; a ULID."},
        "source": {"type": "string", "minLength": 1, "description": "Who sent it, e.g. /gennaker/orca."},
        "type": {
            "type": "string",
            "minLength": 1,
            "description": "io.gennaker.<message type>.v<version>, e.g. io.gennaker.orca.StartExecution.v1.",
        },
        "time": {"type": "string", "format": "date-time"},
        "subject": {"type": "string", "description": "The execution or resource the message is about."},
        "datacontenttype": {"type": "string", "default": "application/json"},
        "data": {"type": "object", "description": "The message itself."},
        "correlationid": {"type": "string", "description": "Shared by every message of one user action."},
        "causationid": {"type": "string", "description": "The id of the message that caused this one."},
        "traceparent": {"type": "string", "description": "W3C trace context."},
    },
    "required": ["specversion", "id", "source", "type"],
    "additionalProperties": True,
}
"""JSON Schema of the envelope (``bus.envelope.Envelope``), which ``schemas`` may not import."""


@dataclass(frozen=True)
class Topology:
    """The AMQP names the document describes; the defaults are what ``bus`` declares.

    Passed in rather than imported because ``schemas`` knows nothing of transport. Commands and
    queries go to a direct exchange with the owning service's name as routing key and land on
    ``gennaker.<service>.<kind>``; query replies come back through RabbitMQ's direct reply-to;
    events go to a topic exchange under their type name; failures end on the dead-letter queue.
    """

    commands_exchange: str = "gennaker.commands"
    queries_exchange: str = "gennaker.queries"
    events_exchange: str = "gennaker.events"
    external_exchange: str = "gennaker.external"
    dead_exchange: str = "gennaker.dead"
    dead_exchange_type: str = "fanout"
    dead_letter_queue: str = "gennaker.dead-letters"
    reply_queue: str = "amq.rabbitmq.reply-to"
    dead_letter_headers: tuple[tuple[str, str], ...] = (
        ("x-gennaker-reason", "Why the message was dead-lettered."),
        ("x-gennaker-traceback", "The handler's traceback, when it raised."),
        ("x-gennaker-queue", "The queue the message failed on; replay puts it back there."),
        ("x-gennaker-dead-at", "When it was dead-lettered (ISO 8601)."),
        ("x-gennaker-attempt", "How many attempts were made."),
        ("x-gennaker-message-id", "The CloudEvent id of the failed message."),
        ("x-gennaker-origin", "external when an outside system published it (it stays external when replayed)."),
    )

    def queue(self, service: str, kind: str) -> str:
        """The durable queue service ``service`` consumes ``kind`` (commands, queries, events) from."""
        return f"gennaker.{service}.{kind}"


TOPOLOGY = Topology()


def message_id(model: type[Message]) -> str:
    """A key for ``model`` usable in every AsyncAPI map: ``system.Ping`` v1 → ``system_Ping_v1``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{model.message_type}.v{model.message_version}")


def all_models(registry: MessageRegistry) -> list[type[Message]]:
    """Every registered model plus any query's reply model that was not registered itself."""
    models = list(registry)
    known = {model.message_type for model in models}
    for model in list(models):
        if issubclass(model, Query):
            reply = getattr(model, "reply_model", None)
            if reply is not None and reply.message_type not in known:
                models.append(reply)
                known.add(reply.message_type)
    return sorted(models, key=lambda model: model.message_type)


def asyncapi_document(
    registry: MessageRegistry,
    *,
    services: Sequence[str] = SERVICES,
    topology: Topology = TOPOLOGY,
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document for every message in ``registry``, as a JSON-ready dict.

    Commands and queries owned by a service in ``services`` get that service's channels; those
    owned by anything else (``system.*``) are accepted by every service and get one channel whose
    address is parameterised by service. Raises ``ValueError`` when two messages would share a key.
    """
    models = all_models(registry)
    ids = [message_id(model) for model in models]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two message types map to the same AsyncAPI key: {sorted(ids)}")
    components, data_refs = _component_schemas(models)
    builder = _DocumentBuilder(services, topology, data_refs)
    for model in models:
        builder.add(model)
    builder.add_dead_letters()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Gennaker message bus",
            "version": _package_version(),
            "description": (
                "Every command, query, reply and event Gennaker's services exchange over RabbitMQ. "
                "Generated from the pydantic models by `gennaker schemas export`; do not edit."
            ),
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "servers": {
            "rabbitmq": {
                "host": "{host}",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "The broker GENNAKER_AMQP_URL names.",
                "variables": {"host": {"default": "localhost:5672"}},
            }
        },
        "channels": builder.channels,
        "operations": builder.operations,
        "components": {"schemas": components, "messages": builder.messages},
    }


def _package_version() -> str:
    try:
        return metadata.version("gennaker")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _component_schemas(models: Sequence[type[Message]]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Every model's schema under ``#/components/schemas``, and the reference for each message's data."""
    refs, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    schemas = {name: _to_asyncapi_schema(schema) for name, schema in definitions.get("$defs", {}).items()}
    if "CloudEvent" in schemas:
        raise ValueError("a model named CloudEvent would hide the envelope schema; rename the model")
    schemas["CloudEvent"] = CLOUDEVENT_SCHEMA
    data_refs = {model.message_type: refs[(model, "validation")] for model in models}
    return schemas, data_refs


def _to_asyncapi_schema(schema: Any) -> Any:
    """Turn pydantic's JSON Schema 2020-12 into AsyncAPI's dialect (a superset of draft-07).

    The differences that matter: OpenAPI-style ``discriminator`` objects become the property name
    AsyncAPI expects, and ``prefixItems`` (tuples) becomes draft-07's array form of ``items``.
    """
    if isinstance(schema, list):
        return [_to_asyncapi_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _to_asyncapi_schema(value) for key, value in schema.items()}
    discriminator = converted.get("discriminator")
    if isinstance(discriminator, dict):
        converted["discriminator"] = discriminator["propertyName"]
    if "prefixItems" in converted:
        converted["additionalItems"] = converted.pop("items", False)
        converted["items"] = converted.pop("prefixItems")
    return converted


class _DocumentBuilder:
    """Accumulates channels, operations and messages, one model at a time."""

    def __init__(self, services: Sequence[str], topology: Topology, data_refs: dict[str, dict[str, Any]]) -> None:
        self.services = tuple(services)
        self.topology = topology
        self.data_refs = data_refs
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}

    def add(self, model: type[Message]) -> None:
        key = message_id(model)
        self.messages[key] = self._message(model)
        match model.message_kind:
            case "command":
                self._add_addressed(model, "commands", self.topology.commands_exchange)
            case "query":
                self._add_addressed(model, "queries", self.topology.queries_exchange)
            case "event":
                self._add_event(model)
            case "reply":
                self._attach(self._replies_channel(), model)

    def _message(self, model: type[Message]) -> dict[str, Any]:
        doc = (model.__doc__ or "").strip()
        payload = {
            "allOf": [{"$ref": "#/components/schemas/CloudEvent"}],
            "type": "object",
            "properties": {
                "type": {"const": model.cloudevent_type()},
                "data": self.data_refs[model.message_type],
            },
            "required": ["data"],
        }
        message: dict[str, Any] = {
            "name": model.message_type,
            "title": f"{model.message_type} v{model.message_version}",
            "contentType": CLOUDEVENTS_CONTENT_TYPE,
            "payload": payload,
            "correlationId": {
                "description": "One user action end to end (CloudEvents extension correlationid).",
                "location": "$message.payload#/correlationid",
            },
            "bindings": {"amqp": {"bindingVersion": AMQP_BINDING_VERSION}},
            "x-gennaker-kind": model.message_kind,
            "x-gennaker-version": model.message_version,
            "x-gennaker-cloudevent-type": model.cloudevent_type(),
        }
        if doc:
            message["summary"] = doc.splitlines()[0]
            message["description"] = doc
        return message

    def _add_addressed(self, model: type[Message], kind: str, exchange: str) -> None:
        owner = model.owner()
        if owner in self.services:
            stem, routing_key, queue = owner, owner, self.topology.queue(owner, kind)
        else:
            stem, routing_key, queue = ANY_SERVICE, "{service}", self.topology.queue("{service}", kind)
        routed = self._channel(
            f"{kind}_{stem}",
            routing_key,
            f"{kind.capitalize()} for {owner if stem == owner else 'any service'}, sent to {exchange}.",
            {
                "is": "routingKey",
                "exchange": {"name": exchange, "type": "direct", "durable": True, "autoDelete": False},
            },
        )
        queued = self._channel(
            f"queue_{stem}_{kind}",
            queue,
            f"The {kind} queue; competing consumers share it (a quorum queue where the broker has them).",
            {"is": "queue", "queue": {"name": queue, "durable": True, "exclusive": False, "autoDelete": False}},
        )
        key = message_id(model)
        reply = self._reply(model)
        # Commands are persistent; a query is worthless once its asker stopped waiting, so it is not.
        send_binding = {"deliveryMode": 2 if kind == "commands" else 1, "bindingVersion": AMQP_BINDING_VERSION}
        self._operation(f"send_{key}", "send", routed, model, send_binding, reply)
        receive_binding = {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}
        self._operation(f"receive_{key}", "receive", queued, model, receive_binding, reply)

    def _add_event(self, model: type[Message]) -> None:
        exchange = self.topology.events_exchange
        channel = self._channel(
            f"events_{message_id(model)}",
            model.message_type,
            f"{model.message_type} events on {exchange}; bind a queue by routing-key pattern to receive them."
            + (
                f" Outside systems may publish it, to {self.topology.external_exchange}."
                if model.published_from_outside
                else " Only Gennaker's services publish it; from outside it is dead-lettered."
            ),
            {"is": "routingKey", "exchange": {"name": exchange, "type": "topic", "durable": True, "autoDelete": False}},
        )
        key = message_id(model)
        send_binding = {"deliveryMode": 2, "bindingVersion": AMQP_BINDING_VERSION}
        self._operation(f"publish_{key}", "send", channel, model, send_binding)
        receive_binding = {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}
        self._operation(f"subscribe_{key}", "receive", channel, model, receive_binding)

    def _reply(self, model: type[Message]) -> dict[str, Any] | None:
        reply_model: type[Reply] | None = getattr(model, "reply_model", None) if issubclass(model, Query) else None
        if reply_model is None:
            return None
        channel = self._replies_channel()
        return {
            "address": {
                "description": "RabbitMQ direct reply-to: the reply goes to the query's reply_to property.",
                "location": "$message.header#/reply_to",
            },
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message_id(reply_model)}"}],
        }

    def _replies_channel(self) -> str:
        queue = self.topology.reply_queue
        return self._channel(
            "replies",
            None,
            "Replies to queries, published to the default exchange with the query's reply_to as routing key.",
            {"is": "queue", "queue": {"name": queue, "durable": False, "exclusive": True, "autoDelete": True}},
        )

    def add_dead_letters(self) -> None:
        topology = self.topology
        exchange = self._channel(
            "deadLetterExchange",
            None,
            "Where a message goes after its last failed attempt, or at once when it cannot be decoded.",
            {
                "is": "routingKey",
                "exchange": {
                    "name": topology.dead_exchange,
                    "type": topology.dead_exchange_type,
                    "durable": True,
                    "autoDelete": False,
                },
            },
        )
        queue = self._channel(
            "deadLetters",
            topology.dead_letter_queue,
            f"Bound to {topology.dead_exchange}; `gennaker dlq list|show|replay` reads it.",
            {
                "is": "queue",
                "queue": {"name": topology.dead_letter_queue, "durable": True, "exclusive": False, "autoDelete": False},
            },
        )
        self.messages["DeadLetter"] = {
            "name": "DeadLetter",
            "title": "Dead letter",
            "summary": "A message that could not be handled, with why in its AMQP headers.",
            "description": "The body exactly as received: usually one of the CloudEvents above, maybe not JSON.",
            "headers": {
                "type": "object",
                "properties": {
                    name: {"type": "string", "description": text} for name, text in topology.dead_letter_headers
                },
                "required": [topology.dead_letter_headers[0][0]],
            },
            "payload": {"description": "The failed message's body, unchanged."},
        }
        for channel in (exchange, queue):
            self.channels[channel]["messages"]["DeadLetter"] = {"$ref": "#/components/messages/DeadLetter"}
        dead = {"$ref": f"#/channels/{queue}/messages/DeadLetter"}
        self.operations["dead_letter"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{exchange}"},
            "summary": "The consumer runtime dead-letters a message it gave up on.",
            "messages": [{"$ref": f"#/channels/{exchange}/messages/DeadLetter"}],
        }
        self.operations["read_dead_letters"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{queue}"},
            "summary": "Operators list, show and replay dead letters.",
            "messages": [dead],
        }

    def _channel(self, channel_id: str, address: str | None, description: str, amqp: dict[str, Any]) -> str:
        if channel_id not in self.channels:
            channel: dict[str, Any] = {
                "address": address,
                "description": description,
                "messages": {},
                "bindings": {"amqp": {**amqp, "bindingVersion": AMQP_BINDING_VERSION}},
            }
            if address and "{service}" in address:
                channel["parameters"] = {
                    "service": {"enum": list(self.services), "description": "The service the message is sent to."}
                }
            self.channels[channel_id] = channel
        return channel_id

    def _attach(self, channel_id: str, model: type[Message]) -> str:
        key = message_id(model)
        self.channels[channel_id]["messages"][key] = {"$ref": f"#/components/messages/{key}"}
        return key

    def _operation(
        self,
        operation_id: str,
        action: str,
        channel_id: str,
        model: type[Message],
        binding: dict[str, Any],
        reply: dict[str, Any] | None = None,
    ) -> None:
        key = self._attach(channel_id, model)
        operation: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"{'Send' if action == 'send' else 'Receive'} {model.message_type} v{model.message_version}.",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{key}"}],
            "bindings": {"amqp": binding},
        }
        if reply is not None:
            operation["reply"] = reply
        self.operations[operation_id] = operation
