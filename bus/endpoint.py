"""What a service listens to: one queue, what is bound to it, and one handler per message type.

An endpoint is transport-neutral; each bus turns it into queues and bindings of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bus.envelope import new_id
from schemas import Reply

if TYPE_CHECKING:
    from bus.context import MessageContext
    from bus.encoded import EncodedReply
    from bus.envelope import Envelope

EndpointKind = Literal["commands", "events", "queries"]
Handler = Callable[[Any, "MessageContext"], Awaitable["Reply | EncodedReply | None"]]
"""``async def handle(message, context)``; a query handler returns its reply (or it already encoded)."""
RawHandler = Callable[["Envelope", "MessageContext"], Awaitable[None]]
"""Receives every envelope undecoded: for taps such as the event tail and sinks."""

COMMANDS_EXCHANGE = "gennaker.commands"
QUERIES_EXCHANGE = "gennaker.queries"
EVENTS_EXCHANGE = "gennaker.events"
EXTERNAL_EXCHANGE = "gennaker.external"
"""The one exchange outside systems may write to; everything published there is routed on to
``gennaker.events`` and counts, for every consumer, as coming from outside."""
RETRY_EXCHANGE = "gennaker.retry"
DEAD_EXCHANGE = "gennaker.dead"
DEAD_LETTER_QUEUE = "gennaker.dead-letters"


def queue_name(service: str, kind: EndpointKind) -> str:
    """The durable queue of ``service``'s ``kind`` endpoint: ``gennaker.<service>.<kind>``, on every bus."""
    return f"gennaker.{service}.{kind}"


def private_queue_name() -> str:
    """A fresh name for a private queue that lives as long as its consumer (a live tap)."""
    return f"gennaker.tap.{new_id()}"


@dataclass(frozen=True)
class Endpoint:
    """A queue owned by ``service`` and the handlers that consume it.

    * ``commands``: queue ``gennaker.<service>.commands``, bound to ``gennaker.commands`` with the
      service name; competing consumers share it.
    * ``queries``: queue ``gennaker.<service>.queries`` on ``gennaker.queries``.
    * ``events``: queue ``gennaker.<service>.events`` bound to ``gennaker.events`` with each of
      ``patterns``; events of types without a handler are acknowledged and ignored.
      ``durable=False`` makes a private queue that disappears with its consumer (live taps).

    ``max_length`` bounds a durable queue: when that many messages wait (unacknowledged ones do
    not count), the queue refuses new ones (RabbitMQ ``x-overflow: reject-publish``) and the bus
    raises the alarm of :mod:`bus.overflow`; ``None`` leaves it unbounded.

    ``ack_together`` (the default) lets the transport acknowledge handlers that finish in the same
    moment with one acknowledgement (RabbitMQ: ``basic.ack`` with ``multiple`` on the highest
    delivery tag of a run whose every earlier delivery is settled): a busy consumer with many
    messages in flight, not only a sink finishing a batch, otherwise writes one frame per message.
    Each message is still acknowledged only once its handler returned and what its verdict
    publishes was confirmed, so a crash redelivers whatever was not; a handler still running never
    holds back the others (they are acknowledged one by one past it). ``False`` acknowledges each
    message on its own.
    """

    service: str
    kind: EndpointKind
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    patterns: tuple[str, ...] = ()
    raw_handler: RawHandler | None = None
    durable: bool = True
    prefetch: int = 32
    max_length: int | None = None
    ack_together: bool = True

    def __post_init__(self) -> None:
        if self.kind == "events" and not self.patterns:
            raise ValueError(f"event endpoint {self.service!r} binds no patterns")
        if self.kind != "events" and self.patterns:
            raise ValueError(f"{self.kind} endpoint {self.service!r} cannot bind topic patterns")
        if self.raw_handler is not None and self.kind != "events":
            raise ValueError("only event endpoints take a raw handler")
        if self.prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        if self.max_length is not None and (self.max_length < 1 or not self.durable):
            raise ValueError("max_length must be at least 1, on a durable queue")

    @property
    def queue(self) -> str:
        """The durable queue's name (a private queue's name is chosen by the bus)."""
        return queue_name(self.service, self.kind)
