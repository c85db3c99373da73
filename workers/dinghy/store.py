"""Dinghy's MongoDB collections: the module dependency graph and the render/apply history.

``dinghy_dependencies``: one document per dinghyfile (``_id`` = ``repository:path``) with the
template repository's modules its last render read (transitively) and the push payload behind
its ``.RawData``, so a push to the template repository finds every dinghyfile that uses a changed
module and renders it again as it was last pushed. ``dinghy_history``: one entry per dinghyfile
per push (``_id`` = ``event_id:repository:path``, so a redelivered push writes the same entry),
with the commit, the author, the outcome and what changed.
"""

from __future__ import annotations

from typing import Any

import pymongo
from pymongo.asynchronous.database import AsyncDatabase

DEPENDENCIES = "dinghy_dependencies"
HISTORY = "dinghy_history"


class DinghyStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.dependencies = db[DEPENDENCIES]
        self.history = db[HISTORY]

    async def ensure_indexes(self) -> None:
        await self.dependencies.create_index("modules")
        await self.history.create_index([("applicationKey", pymongo.ASCENDING), ("at", pymongo.DESCENDING)])

    async def record_dependencies(
        self, repository: str, path: str, branch: str, modules: set[str], raw_data: str
    ) -> None:
        """The modules the dinghyfile's render on its default branch read, and its push payload."""
        await self.dependencies.replace_one(
            {"_id": f"{repository}:{path}"},
            {"repository": repository, "path": path, "branch": branch, "modules": sorted(modules), "rawData": raw_data},
            upsert=True,
        )

    async def dependents(self, modules: list[str]) -> list[dict[str, Any]]:
        """The dinghyfiles whose last render read any of ``modules``, each once."""
        if not modules:
            return []
        cursor = self.dependencies.find({"modules": {"$in": modules}}).sort("_id", pymongo.ASCENDING)
        return [document async for document in cursor]

    async def record(self, entry: dict[str, Any]) -> None:
        """Store one history entry (keyed by its ``_id``: writing it again changes nothing)."""
        application = entry.get("application")
        document = {**entry, "applicationKey": application.lower() if isinstance(application, str) else None}
        await self.history.replace_one({"_id": entry["_id"]}, document, upsert=True)

    async def entry(self, entry_id: str) -> dict[str, Any] | None:
        """The history entry ``entry_id`` (``event_id:repository:path``), once that dinghyfile was processed."""
        return await self.history.find_one({"_id": entry_id})

    async def last_application(self, repository: str, path: str) -> str | None:
        """The application the dinghyfile's latest render that named one was for (a broken render names none)."""
        query = {"repository": repository, "path": path, "applicationKey": {"$ne": None}}
        found = await self.history.find_one(query, sort=[("at", pymongo.DESCENDING)])
        return str(found["application"]) if found else None

    async def history_of(self, application: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.history.find({"applicationKey": application.lower()}).sort("at", pymongo.DESCENDING).limit(limit)
        return [
            {key: value for key, value in entry.items() if key not in ("applicationKey", "rendered")}
            async for entry in cursor
        ]
