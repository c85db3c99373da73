"""The operations journal: one MongoDB document per ``(stage, task_id, attempt)`` Orca asked Clouddriver to run.

It is what makes operations run once and survive a crash:

* the entry is written (RUNNING, with an owner and a lease) before any cloud call, so a
  redelivered command finds it and does not start the work again;
* an operation records its decisions as it makes them (:meth:`OperationJournal.checkpoint`:
  the server group name it picked, the cluster's previous server groups), so whoever resumes it
  makes the same ones;
* the owner renews the lease with every heartbeat; an entry still RUNNING with a lapsed lease was
  left by a Clouddriver that died, and the reconciler takes it over (:meth:`OperationJournal.stale`);
* a finished entry keeps its answer, so a redelivered command is answered again, identically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask

COLLECTION = "clouddriver_operations"
Status = Literal["RUNNING", "SUCCEEDED", "TERMINAL", "CANCELED"]


def entry_id(command: RunExternalTask) -> str:
    """The journal key of one attempt of one task: Orca numbers tasks within a stage ("1", "2"…),
    so the stage (and its execution) are part of the key."""
    return f"{command.execution_id}:{command.stage_id}:{command.task_id}:{command.attempt}"


@dataclass(frozen=True)
class Claim:
    """What :meth:`OperationJournal.claim` found: the entry, and whether the caller now owns its work."""

    entry: Json
    owned: bool

    @property
    def finished(self) -> bool:
        """The operation has an answer already."""
        return bool(self.entry.get("status") != "RUNNING")


class OperationJournal:
    """The ``clouddriver_operations`` collection."""

    def __init__(self, db: AsyncDatabase[Json], *, lease_seconds: float = 15.0) -> None:
        self.collection = db[COLLECTION]
        self.lease_seconds = lease_seconds
        self._indexed = False

    async def ensure_indexes(self) -> None:
        """The index the reconciler's scan uses (once per process)."""
        if not self._indexed:
            await self.collection.create_index([("status", ASCENDING), ("lease_until", ASCENDING)])
            self._indexed = True

    async def claim(self, command: RunExternalTask, owner: str) -> Claim:
        """Record ``command`` as RUNNING under ``owner``, or find what is recorded already.

        The caller owns the work when the entry is new, or RUNNING with a lapsed lease (its owner
        died); not when it is finished or another live owner holds it.
        """
        await self.ensure_indexes()
        now = time.time()
        document: Json = {
            "_id": entry_id(command),
            "command": command.model_dump(mode="json"),
            "status": "RUNNING",
            "owner": owner,
            "lease_until": now + self.lease_seconds,
            "started_at": now,
            "updated_at": now,
            "state": {},
        }
        try:
            await self.collection.insert_one(document)
            return Claim(document, owned=True)
        except DuplicateKeyError:
            pass
        return await self.take_over(document["_id"], owner) or Claim(
            await self.collection.find_one({"_id": document["_id"]}) or document, owned=False
        )

    async def take_over(self, key: str, owner: str) -> Claim | None:
        """Own the RUNNING entry ``key`` if its lease lapsed (or ``owner`` holds it already); else ``None``."""
        now = time.time()
        taken = await self.collection.find_one_and_update(
            {"_id": key, "status": "RUNNING", "$or": [{"lease_until": {"$lt": now}}, {"owner": owner}]},
            {"$set": {"owner": owner, "lease_until": now + self.lease_seconds, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return Claim(taken, owned=True) if taken is not None else None

    async def take_from(self, key: str, dead_owner: str, owner: str) -> Claim | None:
        """Own the RUNNING entry ``key`` still held by ``dead_owner`` (a process known to be gone)."""
        now = time.time()
        taken = await self.collection.find_one_and_update(
            {"_id": key, "status": "RUNNING", "owner": dead_owner},
            {"$set": {"owner": owner, "lease_until": now + self.lease_seconds, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return Claim(taken, owned=True) if taken is not None else None

    async def renew(self, key: str, owner: str) -> bool:
        """Extend ``owner``'s lease; ``False`` when it no longer owns the entry (stop working)."""
        now = time.time()
        result = await self.collection.update_one(
            {"_id": key, "status": "RUNNING", "owner": owner},
            {"$set": {"lease_until": now + self.lease_seconds, "updated_at": now}},
        )
        return result.matched_count == 1

    async def request_cancel(self, execution_id: str, stage_id: str) -> int:
        """Ask whoever runs an operation of this stage to stop (Orca no longer waits for it); how many."""
        result = await self.collection.update_many(
            {"command.execution_id": execution_id, "command.stage_id": stage_id, "status": "RUNNING"},
            {"$set": {"cancel_requested": True, "updated_at": time.time()}},
        )
        return int(result.modified_count)

    async def cancel_requested(self, key: str) -> bool:
        """Whether :meth:`request_cancel` asked the operation ``key`` to stop."""
        entry = await self.collection.find_one({"_id": key}, {"cancel_requested": 1})
        return bool(entry and entry.get("cancel_requested"))

    async def checkpoint(self, key: str, owner: str, state: Json) -> None:
        """Merge ``state`` into the entry's recorded decisions (before acting on them)."""
        updates = {f"state.{name}": value for name, value in state.items()}
        await self.collection.update_one(
            {"_id": key, "status": "RUNNING", "owner": owner}, {"$set": {**updates, "updated_at": time.time()}}
        )

    async def finish(
        self, key: str, owner: str, status: Status, *, outputs: Json, context: Json, error: str | None
    ) -> Json | None:
        """Store the answer; returns the finished entry, or ``None`` if ``owner`` lost it meanwhile."""
        return await self.collection.find_one_and_update(
            {"_id": key, "status": "RUNNING", "owner": owner},
            {
                "$set": {
                    "status": status,
                    "outputs": outputs,
                    "context": context,
                    "error": error,
                    "answered": False,
                    "updated_at": time.time(),
                    "finished_at": time.time(),
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    async def stale(self, limit: int = 50) -> list[Json]:
        """RUNNING entries whose lease lapsed: left by a Clouddriver that stopped or died."""
        await self.ensure_indexes()
        cursor = self.collection.find({"status": "RUNNING", "lease_until": {"$lt": time.time()}}).limit(limit)
        return [entry async for entry in cursor]

    async def answered(self, key: str) -> None:
        """The answer of finished entry ``key`` was published."""
        await self.collection.update_one({"_id": key}, {"$set": {"answered": True}})

    async def unanswered(self, older_than: float, limit: int = 50) -> list[Json]:
        """Finished entries whose answer was not published (the process died in between)."""
        query = {"status": {"$ne": "RUNNING"}, "answered": False, "updated_at": {"$lt": time.time() - older_than}}
        return [entry async for entry in self.collection.find(query).limit(limit)]

    async def running(self, limit: int = 200) -> list[Json]:
        """Every RUNNING entry (the start-up check looks for owners that died on this host)."""
        return [entry async for entry in self.collection.find({"status": "RUNNING"}).limit(limit)]

    async def get(self, key: str) -> Json | None:
        """One entry."""
        return await self.collection.find_one({"_id": key})
