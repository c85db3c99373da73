"""A message that could not be handled, kept with the reason so an operator can fix and replay it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

REASON_HEADER = "x-gennaker-reason"
TRACEBACK_HEADER = "x-gennaker-traceback"
QUEUE_HEADER = "x-gennaker-queue"
DEAD_AT_HEADER = "x-gennaker-dead-at"
ATTEMPT_HEADER = "x-gennaker-attempt"
MESSAGE_ID_HEADER = "x-gennaker-message-id"
ORIGIN_HEADER = "x-gennaker-origin"
"""``external`` on a message an outsider published, set by our services when they retry or dead-letter
it (its trip through the retry queues or a replay hides the exchange it first came through). It can
only make a message less trusted: a publisher who writes it forges nothing."""


class DeadLetter(BaseModel):
    """One dead-lettered message: where it failed, why, and its body exactly as received."""

    id: str
    queue: str
    reason: str
    traceback: str | None = None
    dead_at: datetime
    attempts: int
    body: bytes
    external: bool = False
    """It came from outside the services (and goes back as such when replayed)."""

    def body_text(self) -> str:
        """The body as text, with undecodable bytes escaped, for display."""
        return self.body.decode("utf-8", errors="backslashreplace")
