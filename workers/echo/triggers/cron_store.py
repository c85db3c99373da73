"""Echo's record of cron ticks (``echo_cron_fires``): who handled which tick, and where to resume.

One document per (trigger, tick), ``_id`` ``"<trigger key>@<tick ms>"``: inserting it is the
claim, and MongoDB's unique ``_id`` lets exactly one Echo replica win a tick however many compute
it. ``resume_after`` (epoch ms) says from when the trigger's next tick is looked for: the tick
itself for a fire on time, the end of the missed stretch for a misfire. ``sent`` turns true once
``orca.TriggerPipeline`` was sent, so a replica that died between the claim and the send has its
fire sent by another (the command is keyed, so sending it twice starts one execution).
"""

from __future__ import annotations

from typing import Any, Literal

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

COLLECTION = "echo_cron_fires"
Outcome = Literal["fired", "fired-late", "skipped"]


class CronFires:
    """The ``echo_cron_fires`` collection."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]
        self._indexed = False

    async def ensure_indexes(self) -> None:
        """Create the indexes once per process."""
        if not self._indexed:
            await self.collection.create_index([("trigger", 1), ("resume_after", DESCENDING)])
            await self.collection.create_index([("sent", 1), ("claimed_at", 1)])
            self._indexed = True

    async def resume_point(self, trigger: str) -> int | None:
        """Where the trigger's next tick is looked for; None for a trigger never handled."""
        await self.ensure_indexes()
        latest = await self.collection.find_one({"trigger": trigger}, sort=[("resume_after", DESCENDING)])
        return int(latest["resume_after"]) if latest else None

    async def claim(
        self, trigger: str, tick: int, *, resume_after: int, outcome: Outcome, instance: str, now: int, **fire: Any
    ) -> bool:
        """Record that this replica handles ``tick``; False when another already did."""
        await self.ensure_indexes()
        try:
            await self.collection.insert_one(
                {
                    "_id": f"{trigger}@{tick}",
                    "trigger": trigger,
                    "tick": tick,
                    "resume_after": resume_after,
                    "outcome": outcome,
                    "instance": instance,
                    "claimed_at": now,
                    "sent": outcome == "skipped",
                    **fire,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def mark_sent(self, trigger: str, tick: int) -> None:
        """The fire's command is on the bus."""
        await self.collection.update_one({"_id": f"{trigger}@{tick}"}, {"$set": {"sent": True}})

    async def unsent(self, claimed_before: int) -> list[dict[str, Any]]:
        """Fires claimed before ``claimed_before`` whose command was never confirmed sent."""
        await self.ensure_indexes()
        cursor = self.collection.find({"sent": False, "claimed_at": {"$lt": claimed_before}}).limit(100)
        return [document async for document in cursor]
