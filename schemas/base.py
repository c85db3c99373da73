"""The three kinds of message every service exchanges, and what each must declare.

A message is a pydantic model with a stable dotted type name (``orca.StartExecution``) and an
integer version. The name's first segment is the service that owns it: commands and queries are
routed to that service, events are published under the name as their routing key.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

MessageKind = Literal["command", "event", "query", "reply"]

CLOUDEVENT_TYPE_PREFIX = "io.gennaker."


class Message(BaseModel):
    """Base of every message: declares its type name, version and kind as class variables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_type: ClassVar[str] = ""
    message_version: ClassVar[int] = 1
    message_kind: ClassVar[MessageKind]
    published_from_outside: ClassVar[bool] = False
    """True only for :class:`ExternalEvent`: every other message is one our services publish alone."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("message_type", "")
        if name and ("." not in name or name.startswith(".") or name.endswith(".")):
            raise TypeError(f"{cls.__name__}.message_type {name!r} must look like 'service.Name'")

    @classmethod
    def owner(cls) -> str:
        """The service that owns this message: the first segment of its type name."""
        return cls.message_type.split(".", 1)[0]

    @classmethod
    def cloudevent_type(cls) -> str:
        """The CloudEvents ``type`` attribute, e.g. ``io.gennaker.orca.stage.completed.v1``."""
        return cloudevent_type(cls.message_type, cls.message_version)


class Command(Message):
    """Asks one service to do one thing; exactly one consumer of that service handles it."""

    message_kind: ClassVar[MessageKind] = "command"


class Event(Message):
    """States a fact that happened; any number of subscribers may bind to it by pattern."""

    message_kind: ClassVar[MessageKind] = "event"


class ExternalEvent(Event):
    """An event outside systems may publish (through ``POST /events`` or the external exchange).

    Every other message type is internal: a service acts on it only when another Gennaker service
    published it, and one arriving from outside is dead-lettered unread (:mod:`schemas.trust`).
    Derive from this class only for a fact an outsider may legitimately state, never for anything a
    service takes as another service's word (a task's completion, a saved pipeline, a command).
    """

    published_from_outside: ClassVar[bool] = True


class Reply(Message):
    """The answer to a query."""

    message_kind: ClassVar[MessageKind] = "reply"


class Query(Message):
    """Asks a service for data and waits, with a deadline, for one reply of type ``reply_model``."""

    message_kind: ClassVar[MessageKind] = "query"
    reply_model: ClassVar[type[Reply]]


def cloudevent_type(name: str, version: int) -> str:
    """Join a message name and version into a CloudEvents type string."""
    return f"{CLOUDEVENT_TYPE_PREFIX}{name}.v{version}"


def parse_cloudevent_type(value: str) -> tuple[str, int]:
    """Split ``io.gennaker.orca.StartExecution.v2`` into ``("orca.StartExecution", 2)``.

    Raises ``ValueError`` naming the expected shape when the string does not fit it.
    """
    if not value.startswith(CLOUDEVENT_TYPE_PREFIX):
        raise ValueError(f"type {value!r} does not start with {CLOUDEVENT_TYPE_PREFIX!r}")
    name, _, version = value[len(CLOUDEVENT_TYPE_PREFIX) :].rpartition(".v")
    if not name or not version.isdigit():
        raise ValueError(f"type {value!r} does not end with '.v<version>'")
    return name, int(version)
