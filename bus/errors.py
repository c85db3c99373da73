"""The bus's exception hierarchy: what a caller or a handler may raise or catch."""

from __future__ import annotations


class BusError(Exception):
    """Base of every error raised by the bus."""


class QueryTimeout(BusError, TimeoutError):
    """No reply to a query arrived before its deadline: the service is down or overloaded.

    ``service`` names the service that did not answer, when known.
    """

    def __init__(self, message: str, *, service: str | None = None) -> None:
        super().__init__(message)
        self.service = service

    @classmethod
    def waiting_for(cls, message_type: str, service: str, timeout: float) -> QueryTimeout:
        """The error for ``message_type`` left unanswered by ``service`` for ``timeout`` seconds."""
        return cls(
            f"no reply to {message_type} from {service!r} within {timeout:g}s: is the worker running?",
            service=service,
        )


class QueryFailed(BusError):
    """The service that received a query answered with an error instead of a reply."""


class PermanentError(BusError):
    """Raised by a handler when retrying cannot help: the message is dead-lettered at once."""


class BusClosed(BusError):
    """The bus was used after :meth:`Bus.close`."""


class BrokerUnavailable(BusError, ConnectionError):
    """The message broker cannot be reached now (its connection is lost and being re-established);
    nothing was sent. Try again after ``retry_after`` seconds.

    Raised at once to a caller that asked to fail fast (:func:`bus.availability.fail_fast`, as
    the gateway does for every request); otherwise after riding out the outage for a while.
    """

    def __init__(self, message: str, *, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
