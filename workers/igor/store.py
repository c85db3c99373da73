"""Igor's MongoDB collections: the stage tasks it works on, the builds it queued, what it polled.

* ``igor_stage_tasks`` — one document per attempt of a ``jenkins`` stage's task (by
  ``execution/stage/task/attempt``): the command, when it is next due, who holds its lease, its
  consecutive errors and, once decided, its answer and whether that was published. Any Igor takes
  over a task whose lease lapsed, so a killed Igor loses none.
* ``igor_triggers`` — one document per build Igor queued for a stage (by master, job, execution,
  stage and the stage's start): the queue item, so the same stage asking again gets the same item
  (Igor's pending-operations cache, kept in the store rather than in memory).
* ``igor_job_cursors`` — the newest completed build the poller has seen per master and job.
* ``igor_build_announcements`` — one document per announced build (its id unique), claimed by
  the first Igor to insert it, published then marked, so a build is announced once however many
  Igors poll, and one claimed by an Igor that died before publishing is published by another.
* ``igor_docker_tags`` — the tags the docker monitor has seen per registry account and repository,
  and for an account that tracks digests each tag's last digest and how often it changed.
* ``igor_docker_announcements`` — one document per announced tag (account/repository/tag, and for
  a tag pushed again ``@digest#changes``), claimed and published as builds are.
"""

from __future__ import annotations

import time
from typing import Any

import pymongo
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.json_types import Json

Document = dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


class IgorStore:
    """Igor's collections in one database."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    @property
    def tasks(self) -> AsyncCollection[Document]:
        return self.db["igor_stage_tasks"]

    @property
    def triggers(self) -> AsyncCollection[Document]:
        return self.db["igor_triggers"]

    @property
    def cursors(self) -> AsyncCollection[Document]:
        return self.db["igor_job_cursors"]

    @property
    def announcements(self) -> AsyncCollection[Document]:
        return self.db["igor_build_announcements"]

    @property
    def docker_tags(self) -> AsyncCollection[Document]:
        return self.db["igor_docker_tags"]

    def _announcements(self, kind: str) -> AsyncCollection[Document]:
        return self.db["igor_docker_announcements"] if kind == "docker" else self.announcements

    # --- stage tasks -------------------------------------------------------------------------------

    async def add_task(self, task_id: str, document: Document) -> bool:
        """Store a new task; ``False`` when it was stored before (a redelivered command)."""
        try:
            await self.tasks.insert_one({"_id": task_id, **document})
        except DuplicateKeyError:
            return False
        return True

    async def task(self, task_id: str) -> Document | None:
        return await self.tasks.find_one({"_id": task_id})

    async def claim_task(self, task_id: str, owner: str, lease_ms: int) -> Document | None:
        """Take the lease of an undecided task that is due and not held by a live lease."""
        at = now_ms()
        return await self.tasks.find_one_and_update(
            {
                "_id": task_id,
                "answer": None,
                "due_at": {"$lte": at},
                "$or": [{"lease_until": {"$lt": at}}, {"lease_owner": owner}],
            },
            {"$set": {"lease_owner": owner, "lease_until": at + lease_ms}},
            return_document=ReturnDocument.AFTER,
        )

    async def due_tasks(self, limit: int = 100) -> list[str]:
        at = now_ms()
        cursor = self.tasks.find(
            {"answer": None, "due_at": {"$lte": at}, "lease_until": {"$lt": at}}, {"_id": 1}
        ).limit(limit)
        return [str(document["_id"]) async for document in cursor]

    async def unpublished_answers(self, older_than_ms: int, limit: int = 100) -> list[Document]:
        cursor = self.tasks.find(
            {"answer": {"$ne": None}, "published": False, "decided_at": {"$lt": now_ms() - older_than_ms}}
        ).limit(limit)
        return [document async for document in cursor]

    async def reschedule(self, task_id: str, owner: str, due_at: int, changes: Document) -> None:
        """Release the lease and make the task due again at ``due_at``."""
        await self.tasks.update_one(
            {"_id": task_id, "lease_owner": owner},
            {"$set": {**changes, "due_at": due_at, "lease_until": 0}},
        )

    async def decide(self, task_id: str, owner: str, answer: Json) -> bool:
        """Store the task's answer (once); ``False`` when another Igor decided it first."""
        updated = await self.tasks.update_one(
            {"_id": task_id, "lease_owner": owner, "answer": None},
            {"$set": {"answer": answer, "published": False, "decided_at": now_ms(), "lease_until": 0}},
        )
        return updated.modified_count == 1

    async def mark_published(self, task_id: str) -> None:
        await self.tasks.update_one({"_id": task_id}, {"$set": {"published": True}})

    async def tasks_of_stage(self, execution_id: str, stage_id: str) -> list[Document]:
        cursor = self.tasks.find({"execution_id": execution_id, "stage_id": stage_id})
        return [document async for document in cursor]

    async def stop_tasks_of_stage(self, execution_id: str, stage_id: str) -> None:
        """An ended stage's undecided tasks are decided CANCELED and never answered (Orca moved on)."""
        await self.tasks.update_many(
            {"execution_id": execution_id, "stage_id": stage_id, "answer": None},
            {"$set": {"answer": {"status": "CANCELED"}, "published": True, "decided_at": now_ms()}},
        )

    # --- triggers ----------------------------------------------------------------------------------

    async def claim_trigger(self, key: str, owner: str, stale_ms: int) -> Document | None:
        """The trigger stored under ``key``, or ``None`` when this caller may queue the build now.

        A pending trigger older than ``stale_ms`` (its Igor died mid-request) is taken over."""
        at = now_ms()
        try:
            await self.triggers.insert_one({"_id": key, "queue_item": None, "owner": owner, "pending_at": at})
            return None
        except DuplicateKeyError:
            pass
        taken = await self.triggers.find_one_and_update(
            {"_id": key, "queue_item": None, "pending_at": {"$lt": at - stale_ms}},
            {"$set": {"owner": owner, "pending_at": at}},
        )
        if taken is not None:
            return None
        return await self.triggers.find_one({"_id": key})

    async def release_trigger(self, key: str, owner: str) -> None:
        """The request failed before Jenkins queued anything: the next attempt may try again."""
        await self.triggers.delete_one({"_id": key, "owner": owner, "queue_item": None})

    async def triggered(self, key: str, queue_item: int) -> None:
        await self.triggers.update_one({"_id": key}, {"$set": {"queue_item": queue_item, "queued_at": now_ms()}})

    # --- polling -----------------------------------------------------------------------------------

    async def cursor(self, master: str, job: str) -> int | None:
        found = await self.cursors.find_one({"_id": f"{master}/{job}"})
        return int(found["last"]) if found else None

    async def cursors_of(self, master: str) -> dict[str, int]:
        cursor = self.cursors.find({"master": master})
        return {str(document["job"]): int(document["last"]) async for document in cursor}

    async def advance_cursor(self, master: str, job: str, last: int) -> None:
        await self.cursors.update_one(
            {"_id": f"{master}/{job}"},
            {"$max": {"last": last}, "$set": {"master": master, "job": job}},
            upsert=True,
        )

    async def claim_announcement(self, key: str, event: Json, owner: str, kind: str = "build") -> bool:
        """``True`` for the one Igor that first claims ``key`` (a build, or with ``kind="docker"`` a tag)."""
        try:
            await self._announcements(kind).insert_one(
                {"_id": key, "event": event, "owner": owner, "claimed_at": now_ms(), "published": False}
            )
        except DuplicateKeyError:
            return False
        return True

    async def announced(self, key: str, kind: str = "build") -> None:
        await self._announcements(kind).update_one({"_id": key}, {"$set": {"published": True}})

    async def orphaned_announcements(self, owner: str, older_than_ms: int, kind: str = "build") -> list[Document]:
        """Claimed but unpublished announcements older than ``older_than_ms``, re-claimed by ``owner``."""
        found: list[Document] = []
        at = now_ms()
        collection = self._announcements(kind)
        cursor = collection.find({"published": False, "claimed_at": {"$lt": at - older_than_ms}}).limit(100)
        async for document in cursor:
            taken = await collection.find_one_and_update(
                {"_id": document["_id"], "published": False, "claimed_at": document["claimed_at"]},
                {"$set": {"owner": owner, "claimed_at": at}},
                return_document=ReturnDocument.AFTER,
            )
            if taken is not None:
                found.append(taken)
        return found

    async def seen_tags(self, account: str, repository: str) -> set[str] | None:
        """The tags seen so far of ``repository`` in registry ``account``; ``None`` before its first poll."""
        found = await self.docker_tags.find_one({"_id": f"{account}/{repository}"})
        return set(found.get("tags") or []) if found else None

    async def remember_tags(
        self, account: str, repository: str, tags: set[str], digests: dict[str, tuple[str, int]] | None = None
    ) -> None:
        """Record ``tags`` (the union of what was seen and what the registry now holds) as seen, and
        ``digests`` (tag → digest and changes), when given, as the last seen.

        Two Igors writing at once each write what the registry holds, and a tag either missed is
        still announced once: its announcement's id is unique.
        """
        fields: Json = {"account": account, "repository": repository, "tags": sorted(tags)}
        if digests is not None:
            fields["digests"] = [{"tag": t, "digest": d, "changes": n} for t, (d, n) in sorted(digests.items())]
        await self.docker_tags.update_one({"_id": f"{account}/{repository}"}, {"$set": fields}, upsert=True)

    async def seen_digests(self, account: str, repository: str) -> dict[str, tuple[str, int]]:
        """Each tag's last digest seen in ``repository`` of registry ``account``, and how often it
        changed (tags are no document keys: a tag may hold dots)."""
        found = await self.docker_tags.find_one({"_id": f"{account}/{repository}"}, {"digests": 1})
        listed = (found or {}).get("digests") or []
        return {str(item["tag"]): (str(item["digest"]), int(item.get("changes") or 0)) for item in listed}

    async def ensure_indexes(self) -> None:
        await self.tasks.create_index([("execution_id", pymongo.ASCENDING), ("stage_id", pymongo.ASCENDING)])
        await self.tasks.create_index([("answer", pymongo.ASCENDING), ("due_at", pymongo.ASCENDING)])
        await self.cursors.create_index([("master", pymongo.ASCENDING)])
