"""The bus's exception hierarchy: what a caller or a handler may raise or catch."""

from __future__ import annotations


class BusError(Exception):
    """Base of every error raised by the bus."""


class QueryTimeout(BusError, TimeoutError):
    """No reply to a query arrived before its deadline: the service is down or overloaded."""


class QueryFailed(BusError):
    """The service that received a query answered with an error instead of a reply."""


class PermanentError(BusError):
    """Raised by a handler when retrying cannot help: the message is dead-lettered at once."""


class BusClosed(BusError):
    """The bus was used after :meth:`Bus.close`."""
