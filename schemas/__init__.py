"""Versioned pydantic messages (commands, events, queries), their registry and upcasters.

This package knows nothing of transport: it only says what a message is.
"""

from schemas.base import Command, Event, ExternalEvent, Message, Query, Reply, cloudevent_type, parse_cloudevent_type
from schemas.registry import MessageRegistry, UnknownMessageType, message, registry

__all__ = [
    "Command",
    "Event",
    "ExternalEvent",
    "Message",
    "MessageRegistry",
    "Query",
    "Reply",
    "UnknownMessageType",
    "cloudevent_type",
    "message",
    "parse_cloudevent_type",
    "registry",
]
