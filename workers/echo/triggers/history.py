"""The recent events Echo keeps (``echo_recent_events``), so an event stream can resume after a gap.

Echo already receives every event on ``gennaker.events`` (for CloudEvent triggers), so it keeps the
last ``capacity`` of them, each under its CloudEvent ``id`` (a redelivery is stored once), with the
time it arrived. ``echo.ListRecentEvents`` answers with the events after a given id, oldest first:
the gateway's ``GET /events/stream`` replays them after ``Last-Event-ID`` before going live. Kept
in MongoDB rather than in one gateway's memory, the history survives a gateway restart and every
gateway replica answers from the same one.
"""

from __future__ import annotations

import json
import time
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from bus import Envelope, MessageContext
from schemas.echo import ListRecentEvents, RecentEvents

COLLECTION = "echo_recent_events"


class RecentEventsStore:
    """The capped history: :meth:`record` on every event, :meth:`after` to read."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, capacity: int = 10_000, trim_every: int = 200) -> None:
        self.collection = db[COLLECTION]
        self.capacity = capacity
        self.trim_every = trim_every
        self._since_trim = 0
        self._indexed = False
        self._last_at = 0

    async def _ensure_indexes(self) -> None:
        if not self._indexed:
            await self.collection.create_index([("at", ASCENDING)])
            self._indexed = True

    def _arrival(self) -> int:
        """Nanoseconds since the epoch, strictly increasing within this process."""
        self._last_at = max(time.time_ns(), self._last_at + 1)
        return self._last_at

    async def record(self, envelope: Envelope) -> None:
        """Keep ``envelope`` (once per id), trimming the oldest beyond ``capacity`` now and then."""
        await self._ensure_indexes()
        body = envelope.model_dump_json(exclude_none=True)
        try:
            await self.collection.insert_one({"_id": envelope.id, "at": self._arrival(), "body": body})
        except DuplicateKeyError:
            return
        self._since_trim += 1
        if self._since_trim >= self.trim_every:
            self._since_trim = 0
            await self.trim()

    async def trim(self) -> None:
        """Delete all but the newest ``capacity`` events."""
        cursor = self.collection.find({}, {"at": 1}).sort("at", DESCENDING).skip(self.capacity).limit(1)
        oldest_kept = [document async for document in cursor]
        if oldest_kept:
            await self.collection.delete_many({"at": {"$lte": oldest_kept[0]["at"]}})

    async def after(self, event_id: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Events after ``event_id`` oldest first, and whether ``event_id`` is still kept (all kept if not)."""
        await self._ensure_indexes()
        found = False
        since = -1
        if event_id is not None:
            anchor = await self.collection.find_one({"_id": event_id}, {"at": 1})
            if anchor is not None:
                found, since = True, int(anchor["at"])
        cursor = self.collection.find({"at": {"$gt": since}}).sort("at", ASCENDING).limit(limit)
        return [json.loads(document["body"]) async for document in cursor], found

    async def list_recent(self, query: ListRecentEvents, context: MessageContext) -> RecentEvents:
        """Handler of ``echo.ListRecentEvents``."""
        events, found = await self.after(query.after, query.limit)
        return RecentEvents(events=events, found=found or query.after is None)
