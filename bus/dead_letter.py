"""A message that could not be handled, kept with the reason so an operator can fix and replay it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

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


class DeadLetterArchive(Protocol):
    """Where :class:`~bus.memory.MemoryBus` keeps its dead letters. RabbitMQ keeps its own in a durable
    queue; an in-process bus keeps them here, so one backed by a store (``gennaker up``'s, in
    :mod:`gennaker.dead_letters`) keeps them across a restart, as the broker's would.

    One message may be dead-lettered in several queues (an event every consumer of it failed on):
    each is a letter of its own, named by its queue and message id together.
    """

    async def keep(self, letter: DeadLetter) -> None:
        """Store ``letter``."""
        ...

    async def letters(self) -> list[DeadLetter]:
        """Every letter kept, oldest first."""
        ...

    async def forget(self, letters: Sequence[DeadLetter]) -> None:
        """Drop ``letters`` (once replayed), each by its queue and id."""
        ...


class KeptInMemory:
    """The default archive: a list, gone with the process."""

    def __init__(self) -> None:
        self._letters: list[DeadLetter] = []

    async def keep(self, letter: DeadLetter) -> None:
        self._letters.append(letter)

    async def letters(self) -> list[DeadLetter]:
        return list(self._letters)

    async def forget(self, letters: Sequence[DeadLetter]) -> None:
        gone = {(letter.queue, letter.id) for letter in letters}
        self._letters = [letter for letter in self._letters if (letter.queue, letter.id) not in gone]
