"""``gennaker up``'s dead letters, kept in its store so they survive a restart as RabbitMQ's do.

On RabbitMQ a dead letter waits in a durable queue; the in-process bus of ``gennaker up`` had only
a list, so seven dead letters before a restart were none after it. :class:`StoredDeadLetters` is
the :class:`bus.DeadLetterArchive` the runner hands that bus: one document per letter (``_id`` its
queue and message id, the body as bytes) in the runner's own collection ``gennaker_dead_letters``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any

from bus import DeadLetter

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

COLLECTION = "gennaker_dead_letters"


class StoredDeadLetters:
    """Dead letters in ``db[COLLECTION]``, oldest first."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._letters = db[COLLECTION]

    async def keep(self, letter: DeadLetter) -> None:
        name = _name(letter)
        await self._letters.replace_one({"_id": name}, {"_id": name, **letter.model_dump()}, upsert=True)

    async def letters(self) -> list[DeadLetter]:
        found = await self._letters.find({}).sort([("dead_at", 1), ("_id", 1)]).to_list(None)
        return [_letter(document) for document in found]

    async def forget(self, letters: Sequence[DeadLetter]) -> None:
        if letters:
            await self._letters.delete_many({"_id": {"$in": [_name(letter) for letter in letters]}})


def _name(letter: DeadLetter) -> str:
    """A letter's ``_id``: one message dead-lettered in several queues is a letter per queue."""
    return f"{letter.queue}/{letter.id}"


def _letter(document: dict[str, Any]) -> DeadLetter:
    fields = {key: value for key, value in document.items() if key != "_id"}
    dead_at = fields.get("dead_at")
    if dead_at is not None and getattr(dead_at, "tzinfo", None) is None:
        fields["dead_at"] = dead_at.replace(tzinfo=UTC)  # a client that is not tz_aware reads naive UTC
    fields["body"] = bytes(fields.get("body") or b"")
    return DeadLetter.model_validate(fields)
