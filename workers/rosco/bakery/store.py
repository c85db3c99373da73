"""Rosco's MongoDB collections: bakes, the bake keys that find them again, and their logs.

``rosco_bake_keys`` maps a bake key to the bake that answers it (``_id`` the key, so two
identical requests at once claim it once: the loser answers the winner's bake, and one Packer
runs). ``rosco_bakes`` holds one document per bake: the request, the recipe, Rosco's ``state``
and ``result``, the Orca tasks waiting for it (each with the authority of its execution),
``held`` when a caller outside Orca (Gate's ``POST /bake``) asked for it, and the lease of the
Rosco running it (``owner``, ``lease_until``, Packer's ``pid``) — a bake whose lease lapsed
(its Rosco died) is claimed again.
``rosco_bake_logs`` holds its Packer output in chunks, in order (``_id`` ``<bake>:<seq>``).
"""

from __future__ import annotations

from typing import Any

import pymongo
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]
ACTIVE = ("PENDING", "RUNNING")
MAX_LOG_CHUNKS = 5_000


class BakeStore:
    """Rosco's collections in one database."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self._indexed = False

    @property
    def bakes(self) -> AsyncCollection[Document]:
        return self.db["rosco_bakes"]

    @property
    def keys(self) -> AsyncCollection[Document]:
        return self.db["rosco_bake_keys"]

    @property
    def logs(self) -> AsyncCollection[Document]:
        return self.db["rosco_bake_logs"]

    async def ensure_indexes(self) -> None:
        """The queue's index (state, then age); cheap after the first call."""
        if not self._indexed:
            await self.bakes.create_index([("state", pymongo.ASCENDING), ("created", pymongo.ASCENDING)], name="queue")
            await self.logs.create_index([("bake", pymongo.ASCENDING)], name="bake")
            self._indexed = True

    async def claim_key(self, key: str, bake_id: str) -> str | None:
        """Point ``key`` at ``bake_id`` if nothing holds it; else the bake that does."""
        try:
            await self.keys.insert_one({"_id": key, "bake": bake_id})
            return None
        except DuplicateKeyError:
            found = await self.keys.find_one({"_id": key})
            return str(found["bake"]) if found else None

    async def replace_key(self, key: str, old: str | None, new: str) -> bool:
        """Point ``key`` at ``new`` if it still points at ``old``."""
        done = await self.keys.find_one_and_update({"_id": key, "bake": old}, {"$set": {"bake": new}})
        return done is not None

    async def insert(self, bake: Document) -> Document:
        """Store a new bake (a second insert of the same id keeps the first)."""
        await self.bakes.update_one({"_id": bake["_id"]}, {"$setOnInsert": bake}, upsert=True)
        return await self.bake(str(bake["_id"])) or bake

    async def bake(self, bake_id: str) -> Document | None:
        return await self.bakes.find_one({"_id": bake_id})

    async def add_waiter(self, bake_id: str, waiter: Document | None) -> Document | None:
        """Ask for ``waiter`` (``None``: a caller outside Orca, which holds the bake) to be answered
        when the bake ends; the bake as it is now, or ``None`` when it was canceled meanwhile."""
        change: Document = {"$addToSet": {"waiters": waiter}} if waiter is not None else {"$set": {"held": True}}
        return await self.bakes.find_one_and_update(
            {"_id": bake_id, "state": {"$ne": "CANCELED"}}, change, return_document=ReturnDocument.AFTER
        )

    async def waited_by(self, execution_id: str, stage_id: str) -> list[Document]:
        """The incomplete bakes one Orca stage waits for."""
        waiter = {"execution_id": execution_id, "stage_id": stage_id}
        query = {"state": {"$in": list(ACTIVE)}, "waiters": {"$elemMatch": waiter}}
        return await self.bakes.find(query).to_list(None)

    async def remove_waiter(self, bake_id: str, execution_id: str, stage_id: str) -> Document | None:
        """Forget one stage's wait for a bake; the bake as it is then."""
        return await self.bakes.find_one_and_update(
            {"_id": bake_id},
            {"$pull": {"waiters": {"execution_id": execution_id, "stage_id": stage_id}}},
            return_document=ReturnDocument.AFTER,
        )

    async def claim_next(self, owner: str, now: int, lease_ms: int, dead_owners: list[str]) -> Document | None:
        """The oldest queued bake, or one whose Rosco died, now RUNNING under ``owner``."""
        lapsed: list[Document] = [{"state": "RUNNING", "lease_until": {"$lt": now}}]
        if dead_owners:
            lapsed.append({"state": "RUNNING", "owner": {"$in": dead_owners}})
        for query in ({"state": "PENDING"}, *lapsed):
            claimed = await self.bakes.find_one_and_update(
                query,
                {"$set": {"state": "RUNNING", "owner": owner, "lease_until": now + lease_ms, "updated": now}},
                sort=[("created", pymongo.ASCENDING)],
                return_document=ReturnDocument.BEFORE,
            )
            if claimed is not None:
                return claimed
        return None

    async def running_owners(self) -> list[str]:
        """The Roscos holding running bakes."""
        return [str(owner) for owner in await self.bakes.distinct("owner", {"state": "RUNNING"}) if owner]

    async def mark(self, bake_id: str, owner: str, fields: Document) -> bool:
        """Update a bake this Rosco still runs; False when it is no longer ours (canceled, reclaimed)."""
        done = await self.bakes.update_one({"_id": bake_id, "owner": owner, "state": "RUNNING"}, {"$set": fields})
        return done.matched_count == 1

    async def finish(self, bake_id: str, owner: str, fields: Document) -> Document | None:
        """End a bake this Rosco runs; the bake as ended, or ``None`` when it was not ours to end."""
        return await self.bakes.find_one_and_update(
            {"_id": bake_id, "owner": owner, "state": "RUNNING"},
            {"$set": {**fields, "owner": None, "pid": None}},
            return_document=ReturnDocument.AFTER,
        )

    async def cancel(self, bake_id: str, now: int, *, unwaited: bool = False) -> Document | None:
        """Cancel a bake still queued or running (``unwaited``: only if nobody waits for it nor holds
        it); the canceled bake, or ``None``."""
        query: Document = {"_id": bake_id, "state": {"$in": list(ACTIVE)}}
        if unwaited:
            query.update({"waiters": {"$size": 0}, "held": {"$ne": True}})
        return await self.bakes.find_one_and_update(
            query,
            {"$set": {"state": "CANCELED", "updated": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def queued_before(self, bake: Document) -> int:
        """How many bakes wait ahead of ``bake``."""
        return await self.bakes.count_documents({"state": "PENDING", "created": {"$lt": bake["created"]}})

    async def append_log(self, bake_id: str, run: int, seq: int, lines: list[str]) -> None:
        """Store the next chunk of a run's output (a chunk stored twice stays one)."""
        if seq >= MAX_LOG_CHUNKS:
            return
        await self.logs.update_one(
            {"_id": f"{bake_id}:{run:04d}:{seq:06d}"},
            {"$setOnInsert": {"bake": bake_id, "lines": lines}},
            upsert=True,
        )

    async def log_text(self, bake_id: str) -> str:
        """The bake's output so far, every run in order."""
        chunks = await self.logs.find({"bake": bake_id}).sort("_id", pymongo.ASCENDING).to_list(None)
        return "\n".join(line for chunk in chunks for line in chunk.get("lines", []))
