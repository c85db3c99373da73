"""Terraformer's MongoDB collections: runs, the locks on directory + workspace, large planfiles.

``terraformer_runs`` holds one document per Orca task attempt (its id derived from the attempt, so
a redelivered command finds it): the command, ``status`` (``RUNNING`` until it is answered), the
``owner`` process and its ``lease_until``, ``cancel_requested``, the ``phase`` and the tail of
Terraform's ``log``, the Terraform ``state_lock`` found after ``init``, then the ``answer`` and
whether it was ``published``. ``terraformer_locks`` holds one document per directory + workspace
being run (``holder``: the run, its execution, stage, user and start), so two executions never
run Terraform on the same one at once. ``terraformer_planfiles`` keeps the planfiles too large to
embed in an artifact. Finished runs and planfiles are deleted ``[terraformer] keep_days`` after.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pymongo
from bson import Binary
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.json_types import Json

Document = dict[str, Any]
RUNNING = "RUNNING"
LOG_LINES = 200


class TerraformerStore:
    """Terraformer's collections in one database."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self._indexed = False
        self._lock = asyncio.Lock()

    @property
    def runs(self) -> AsyncCollection[Document]:
        return self.db["terraformer_runs"]

    @property
    def locks(self) -> AsyncCollection[Document]:
        return self.db["terraformer_locks"]

    @property
    def planfiles(self) -> AsyncCollection[Document]:
        return self.db["terraformer_planfiles"]

    async def ensure_indexes(self) -> None:
        """The indexes of the stage and lease look-ups; cheap after the first call."""
        if self._indexed:
            return
        async with self._lock:
            if not self._indexed:
                await self.runs.create_index([("execution_id", pymongo.ASCENDING), ("stage_id", pymongo.ASCENDING)])
                await self.runs.create_index([("status", pymongo.ASCENDING), ("lease_until", pymongo.ASCENDING)])
                self._indexed = True

    async def claim(self, run: Document) -> tuple[Document, bool]:
        """Store ``run`` if its attempt has none yet; the stored run and whether it is this one."""
        await self.ensure_indexes()
        try:
            await self.runs.insert_one(run)
            return run, True
        except DuplicateKeyError:
            found = await self.runs.find_one({"_id": run["_id"]})
            return (found or run), False

    async def run(self, run_id: str) -> Document | None:
        return await self.runs.find_one({"_id": run_id})

    async def renew(self, run_id: str, owner: str, lease_until: int, changes: Json) -> Document | None:
        """Renew the lease and store ``changes`` (phase, log tail…); the run, or ``None`` once not ours."""
        return await self.runs.find_one_and_update(
            {"_id": run_id, "owner": owner, "status": RUNNING},
            {"$set": {"lease_until": lease_until, **changes}},
            return_document=ReturnDocument.AFTER,
        )

    async def finish(self, run_id: str, owner: str, answer: Json, ended: int, *, log: list[str] | None = None) -> bool:
        """Store the answer of a run ``owner`` still holds (with its last ``log`` lines, in the same write,
        so whoever sees the run finished sees its whole log); whether it did."""
        ending: Json = {"status": answer["status"], "answer": answer, "published": False, "ended": ended}
        if log is not None:
            ending["log"] = log
        done = await self.runs.update_one({"_id": run_id, "owner": owner, "status": RUNNING}, {"$set": ending})
        return done.modified_count == 1

    async def published(self, run_id: str) -> None:
        await self.runs.update_one({"_id": run_id}, {"$set": {"published": True}})

    async def request_cancel(self, execution_id: str, stage_id: str) -> int:
        """Ask the running runs of a stage to stop; how many were asked."""
        await self.ensure_indexes()
        asked = await self.runs.update_many(
            {"execution_id": execution_id, "stage_id": stage_id, "status": RUNNING},
            {"$set": {"cancel_requested": True}},
        )
        return asked.modified_count

    async def running(self) -> list[Document]:
        """Every run still RUNNING (the reconciler judges whose owner is gone)."""
        await self.ensure_indexes()
        return [run async for run in self.runs.find({"status": RUNNING}).limit(1000)]

    async def unpublished(self) -> list[Document]:
        """Answered runs whose answer was never published (a death in between)."""
        return [run async for run in self.runs.find({"published": False}).limit(1000)]

    async def acquire(self, key: str, holder: Json) -> Json | None:
        """Hold the lock ``key`` for ``holder`` (its ``run_id``); ``None`` when held now, else the holder.

        A lock whose holding run is no longer RUNNING (answered, or found interrupted) is taken over."""
        try:
            await self.locks.insert_one({"_id": key, "holder": holder})
            return None
        except DuplicateKeyError:
            pass
        found = await self.locks.find_one({"_id": key})
        if found is None:
            return await self.acquire(key, holder)
        current = found["holder"]
        if current.get("run_id") == holder["run_id"]:
            return None
        run = await self.runs.find_one({"_id": current.get("run_id")}, {"status": 1})
        if run is not None and run.get("status") == RUNNING:
            return dict(current)
        taken = await self.locks.find_one_and_update(
            {"_id": key, "holder.run_id": current.get("run_id")}, {"$set": {"holder": holder}}
        )
        return None if taken is not None else dict(current)

    async def release(self, key: str, run_id: str) -> None:
        await self.locks.delete_one({"_id": key, "holder.run_id": run_id})

    async def lock(self, key: str) -> Json | None:
        found = await self.locks.find_one({"_id": key})
        return dict(found["holder"]) if found else None

    async def save_planfile(self, planfile_id: str, data: bytes, application: str, created: int) -> None:
        document = {"_id": planfile_id, "data": Binary(data), "application": application, "created": created}
        await self.planfiles.replace_one({"_id": planfile_id}, document, upsert=True)

    async def forget_before(self, before: int) -> int:
        """Delete finished runs that ended, and planfiles made, before ``before`` (ms); how many went."""
        runs = await self.runs.delete_many({"status": {"$ne": RUNNING}, "ended": {"$lt": before}})
        planfiles = await self.planfiles.delete_many({"created": {"$lt": before}})
        return runs.deleted_count + planfiles.deleted_count

    async def planfile(self, planfile_id: str) -> tuple[bytes, str] | None:
        found = await self.planfiles.find_one({"_id": planfile_id})
        return (bytes(found["data"]), str(found.get("application") or "")) if found else None
