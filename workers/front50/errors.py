"""Why Front50 refuses a command: one exception the handlers turn into ``CommandRejected``.

Validation and the store raise :class:`Rejected` before anything is written; the handler answers
with a rejection event instead of raising, because retrying bad input cannot help (raising is for
infrastructure failures, which the bus retries and then dead-letters).
"""

from __future__ import annotations

from typing import Literal

Status = Literal[400, 403, 404, 409]


class Rejected(Exception):
    """The command is refused with an HTTP-like ``status``; ``field`` names the offending input."""

    def __init__(self, status: Status, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status: Status = status
        self.reason = reason
        self.field = field


def invalid(reason: str, field: str | None = None) -> Rejected:
    """Bad input (400)."""
    return Rejected(400, reason, field)


def forbidden(reason: str, field: str | None = None) -> Rejected:
    """The command's authority may not do this (403, Fiat's refusal)."""
    return Rejected(403, reason, field)


def missing(reason: str, field: str | None = None) -> Rejected:
    """No such application, pipeline or other entity (404)."""
    return Rejected(404, reason, field)


def stale(reason: str, field: str | None = None) -> Rejected:
    """The client edited a version that is no longer the stored one (409)."""
    return Rejected(409, reason, field)
