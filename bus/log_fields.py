"""The log fields of the message being handled, from one context variable set per message.

While :func:`bus.dispatch.dispatch` runs a handler, every line logged in it carries ``service``,
``correlation_id``, ``message_id``, ``message_type``, ``subject`` and ``attempt``. Binding them as
six structlog context variables cost every message about 5 us of CPU (a variable set and reset
each), whether anything was logged or not; one variable holding what is being handled costs a
twentieth of that, and the fields are spelled out only for a line that is actually written, by
:func:`add_message_fields`, a structlog processor (``gennaker.logging`` installs it).

Example::

    structlog.configure(processors=[add_message_fields, structlog.contextvars.merge_contextvars, ...])
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import NamedTuple

from structlog.typing import EventDict, WrappedLogger

from bus.envelope import Envelope


class Handling(NamedTuple):
    """The message a handler is working on: which service handles it, and its delivery attempt."""

    service: str
    envelope: Envelope
    attempt: int


_HANDLING: ContextVar[Handling | None] = ContextVar("gennaker_bus_handling", default=None)


def handling(service: str, envelope: Envelope, attempt: int) -> Token[Handling | None]:
    """Say that ``service`` handles ``envelope`` from now on; pass the token to :func:`done`."""
    return _HANDLING.set(Handling(service, envelope, attempt))


def done(token: Token[Handling | None]) -> None:
    """The handling that :func:`handling` began is over."""
    _HANDLING.reset(token)


def add_message_fields(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """structlog processor: the handled message's fields, unless the line names them itself.

    Put it before ``merge_contextvars``: as when they were bound as context variables inside the
    handler's context, the message's fields win over ones bound around it (a runner's ``service``).
    """
    handled = _HANDLING.get()
    if handled is not None:
        envelope = handled.envelope
        event.setdefault("service", handled.service)
        event.setdefault("correlation_id", envelope.correlationid)
        event.setdefault("message_id", envelope.id)
        event.setdefault("message_type", envelope.type)
        event.setdefault("subject", envelope.subject)
        event.setdefault("attempt", handled.attempt)
    return event
