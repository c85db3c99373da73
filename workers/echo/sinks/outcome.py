"""What a sink says about each event of a batch it tried to deliver, and how it says "try again later".

A sink answers every batch with one :class:`Outcome` per event, in order: delivered (or already
there), worth retrying (the outside system was busy for that event), or refused for good (its
reason goes into the dead letter). A failure of the whole request that waiting may cure (connection
refused, 429, 5xx, a rejected token) is raised as :class:`SinkUnavailable` instead: the batch is
sent again after a backoff while its events wait, unacknowledged, in the sink's queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workers.echo.http_status import worth_retrying


class SinkUnavailable(Exception):
    """The outside system could not take the batch now; the message says why. Retried after a backoff."""


class SinkStopped(Exception):
    """Echo is stopping: the event goes back to the bus (retried later), never lost."""


@dataclass(frozen=True)
class Outcome:
    """The fate of one event in a batch."""

    status: Literal["delivered", "retry", "refused"]
    reason: str = ""


DELIVERED = Outcome("delivered")


def retry(reason: str) -> Outcome:
    """The event was not taken this time but may be later (e.g. HTTP 429 or 503 for that item)."""
    return Outcome("retry", reason)


def refused(reason: str) -> Outcome:
    """The outside system will never take this event as it is (e.g. a mapping error): dead-letter it."""
    return Outcome("refused", reason)


def transient(status: int) -> bool:
    """HTTP statuses after which the same request may succeed: throttling, server trouble, and a
    missing or rejected credential or path, which an operator fixes while the events wait."""
    return status in (401, 403, 404, 408) or worth_retrying(status)
