"""Durable timers (``orca_timers``): a message to send at a time, surviving any restart.

A timer is stored from an outbox entry (its ``_id`` is the entry's id, so storing it twice stores
it once). Every Orca replica polls; a replica claims a due timer with one atomic
``find_one_and_update`` that leases it, sends its message, then deletes it. If the replica dies
between sending and deleting, the lease runs out and another sends it again: at least once, and
the engine ignores a ``RunTask`` whose token is no longer the task's.
"""

from __future__ import annotations

from typing import Any

import structlog
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from bus import Bus, Envelope
from workers.orca.engine.loop import every
from workers.orca.engine.model import OutboxEntry, now_ms

COLLECTION = "orca_timers"
log = structlog.get_logger("gennaker.orca.timers")


class TimerStore:
    """Stores, claims and removes timers."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, lease_ms: int = 30_000) -> None:
        self.collection = db[COLLECTION]
        self.lease_ms = lease_ms

    async def prepare(self) -> None:
        await self.collection.create_index([("dueAt", ASCENDING)])
        await self.collection.create_index([("executionId", ASCENDING)])

    async def schedule(self, execution_id: str, entry: OutboxEntry) -> None:
        """Store ``entry`` as a timer, once however often this is called."""
        document = {
            "dueAt": entry.due_at,
            "executionId": execution_id,
            "to": entry.to,
            "envelope": entry.envelope,
            "claimedUntil": 0,
        }
        await self.collection.update_one({"_id": entry.id}, {"$setOnInsert": document}, upsert=True)

    async def claim(self, now: int, owner: str) -> dict[str, Any] | None:
        """Lease the most overdue unclaimed timer to ``owner``; ``None`` when none is due."""
        return await self.collection.find_one_and_update(
            {"dueAt": {"$lte": now}, "claimedUntil": {"$lte": now}},
            {"$set": {"claimedUntil": now + self.lease_ms, "claimedBy": owner}},
            sort=[("dueAt", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def remove(self, timer: dict[str, Any]) -> None:
        """Delete a fired timer, unless its lease ran out and someone else claimed it since."""
        await self.collection.delete_one({"_id": timer["_id"], "claimedUntil": timer["claimedUntil"]})

    async def count(self) -> int:
        return await self.collection.count_documents({})


class TimerPoller:
    """Sends the messages of due timers, every ``interval`` seconds, until cancelled."""

    def __init__(self, timers: TimerStore, *, owner: str, interval: float = 0.25) -> None:
        self.timers = timers
        self.owner = owner
        self.interval = interval

    async def fire_due(self, bus: Bus) -> int:
        """Send every timer due now; returns how many were sent."""
        fired = 0
        while (timer := await self.timers.claim(now_ms(), self.owner)) is not None:
            envelope = Envelope.model_validate(timer["envelope"])
            await bus.send_envelope(envelope, to=timer["to"])
            await self.timers.remove(timer)
            fired += 1
        return fired

    async def run(self, bus: Bus) -> None:
        """Poll forever (a :class:`bus.service.Service` background task)."""
        await every(self.interval, lambda: self.fire_due(bus), name="timer poll", prepare=self.timers.prepare)
