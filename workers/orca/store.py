"""Orca's ``orca_tasks`` collection: tasks stored whole, guarded by a version counter.

Every change is a compare-and-set on ``version`` (optimistic concurrency), so a cancellation and
a step's answering event arriving at once cannot overwrite each other: the loser reloads and
applies its change again. No other worker reads this collection.

The task itself is stored as JSON text beside the fields the lookups index: a job is the
caller's JSON, whose keys MongoDB may refuse (``$``-prefixed, NUL bytes), and refusing it there
would leave the task unanswered.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from workers.orca.tasks import Task

COLLECTION = "orca_tasks"


class StaleTask(Exception):
    """The task changed since it was loaded; reload it and apply the change again."""


class TaskStore:
    """Loads and saves :class:`Task` records; ``_id`` is the task id."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]

    async def prepare(self) -> None:
        """Create the indexes the handlers' lookups rely on; safe to call on every start."""
        await self.collection.create_index([("command_ids", ASCENDING)])
        await self.collection.create_index([("application_key", ASCENDING), ("build_time", DESCENDING)])

    async def insert(self, task: Task) -> bool:
        """Store a new task; False (and nothing written) when one with that id exists already."""
        try:
            await self.collection.insert_one(_document(task))
        except DuplicateKeyError:
            return False
        return True

    async def get(self, task_id: str) -> Task | None:
        """The task ``task_id``, or ``None``."""
        return _task(await self.collection.find_one({"_id": task_id}))

    async def by_command(self, command_id: str) -> Task | None:
        """The task one of whose steps sent command ``command_id``."""
        return _task(await self.collection.find_one({"command_ids": command_id}))

    async def of_application(self, application: str, limit: int) -> list[Task]:
        """The tasks of ``application`` (any case), newest first."""
        cursor = self.collection.find({"application_key": application.lower()}).sort("build_time", DESCENDING)
        return [task for document in await cursor.limit(limit).to_list() if (task := _task(document))]

    async def save(self, task: Task) -> None:
        """Write ``task`` if nobody changed it since it was loaded; bumps its version.

        Raises :class:`StaleTask` otherwise, leaving the stored one as it was.
        """
        expected = task.version
        task.version = expected + 1
        result = await self.collection.replace_one({"_id": task.id, "version": expected}, _document(task))
        if result.matched_count != 1:
            task.version = expected
            raise StaleTask(f"task {task.id} changed since version {expected} was loaded")


def _document(task: Task) -> dict[str, Any]:
    return {
        "_id": task.id,
        "version": task.version,
        "application_key": task.application.lower(),
        "build_time": task.build_time,
        "command_ids": [step.command_id for step in task.steps if step.command_id is not None],
        "task": task.model_dump_json(),
    }


def _task(document: dict[str, Any] | None) -> Task | None:
    if document is None:
        return None
    return Task.model_validate_json(document["task"])
