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


class DeadLetter(BaseModel):
    """One dead-lettered message: where it failed, why, and its body exactly as received."""

    id: str
    queue: str
    reason: str
    traceback: str | None = None
    dead_at: datetime
    attempts: int
    body: bytes

    def body_text(self) -> str:
        """The body as text, with undecodable bytes escaped, for display."""
        return self.body.decode("utf-8", errors="backslashreplace")
