"""All of Front50's MongoDB access: versioned documents, their history, and command outcomes.

Collections (all prefixed ``front50_``): ``applications``, ``application_history``, ``pipelines``,
``pipeline_history``, ``pipeline_templates``, ``strategies``, ``projects``, ``notifications``,
``service_accounts``, ``canary_configs``, ``applied_commands`` and ``revision``. Each stored entity
keeps Spinnaker's JSON as a string in ``body`` (pipeline JSON may carry keys MongoDB refuses in
stored documents, such as ``$ref`` inside a Kubernetes CRD manifest) beside the fields queries need:
lower-cased ``nameKey`` / ``applicationKey`` (Spinnaker's names are case-insensitive), ``updateTs``,
an integer ``version`` for optimistic concurrency, and ``lastCommand``, the envelope id of the
command that wrote it (so a redelivered command sees its own write and does not apply it twice).

``revision`` holds one counter that every command increments once its writes are done and before
its result event is published (:meth:`Front50Store.bump_revision`): each replica's read cache
(:mod:`workers.front50.cache`) compares it to learn whether anything changed, on any replica.

Writes replace a document only if its ``version`` is still the one read (find-and-replace with a
version filter); a lost race is re-read and re-decided. Every versioned write also upserts a
history entry keyed by (entity id, command id), so history gains exactly one entry per command.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymongo
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.json_types import Json
from workers.front50.documents import next_update_ts
from workers.front50.errors import Rejected, stale

Document = dict[str, Any]
Build = Callable[[Json | None, str], Json]
"""Makes the new body from the stored one (None when absent) and the new ``updateTs``; may raise Rejected."""

PREFIX = "front50_"
MAX_RACES = 8
REVISION_ID = "front50"


@dataclass(frozen=True)
class Saved:
    """What a versioned save stored, and whether it created the entity."""

    body: Json
    created: bool


def _body(document: Document | None) -> Json | None:
    return None if document is None else dict(json.loads(document["body"]))


class Front50Store:
    """Front50's collections in one database; create it once per worker and share it.

    ``ensure_indexes`` runs once (later calls return at once); the worker calls it before the
    first message is handled, as the runtime has no start-up hook.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self._indexed = False
        self._index_lock = asyncio.Lock()

    def _collection(self, name: str) -> AsyncCollection[Document]:
        return self.db[PREFIX + name]

    @property
    def applications(self) -> AsyncCollection[Document]:
        return self._collection("applications")

    @property
    def pipelines(self) -> AsyncCollection[Document]:
        return self._collection("pipelines")

    @property
    def pipeline_templates(self) -> AsyncCollection[Document]:
        """v2 pipeline templates, one document per decorated id (``id:tag``, ``id@sha256:...``)."""
        return self._collection("pipeline_templates")

    @property
    def strategies(self) -> AsyncCollection[Document]:
        return self._collection("strategies")

    @property
    def projects(self) -> AsyncCollection[Document]:
        return self._collection("projects")

    @property
    def notifications(self) -> AsyncCollection[Document]:
        return self._collection("notifications")

    @property
    def service_accounts(self) -> AsyncCollection[Document]:
        return self._collection("service_accounts")

    @property
    def canary_configs(self) -> AsyncCollection[Document]:
        return self._collection("canary_configs")

    @property
    def outcomes(self) -> AsyncCollection[Document]:
        return self._collection("applied_commands")

    @property
    def revisions(self) -> AsyncCollection[Document]:
        return self._collection("revision")

    def history(self, kind: str) -> AsyncCollection[Document]:
        """``application_history`` or ``pipeline_history``."""
        return self._collection(f"{kind}_history")

    async def ensure_indexes(self) -> None:
        """Create the indexes the queries and uniqueness rules need. Idempotent and cheap after the first."""
        if self._indexed:
            return
        async with self._index_lock:
            if self._indexed:
                return
            asc, desc = pymongo.ASCENDING, pymongo.DESCENDING
            await self.applications.create_index([("nameKey", asc)], unique=True, name="name_unique")
            for collection in (self.pipelines, self.strategies):
                await collection.create_index(
                    [("applicationKey", asc), ("nameKey", asc)], unique=True, name="application_name_unique"
                )
            await self.projects.create_index([("nameKey", asc)], unique=True, name="name_unique")
            await self.projects.create_index([("applicationKeys", asc)], name="applications")
            await self.canary_configs.create_index([("applicationKeys", asc)], name="applications")
            await self.pipeline_templates.create_index([("templateId", asc)], name="template")
            for kind in ("application", "pipeline"):
                history = self.history(kind)
                await history.create_index([("entityId", asc), ("command", asc)], unique=True, name="command_unique")
                await history.create_index([("entityId", asc), ("version", desc)], name="newest_first")
            self._indexed = True

    # --- the revision: has anything changed? ----------------------------------------------

    async def revision(self) -> int:
        """How many times commands changed (or may have changed) Front50's data; 0 before the first."""
        document = await self.revisions.find_one({"_id": REVISION_ID})
        return 0 if document is None else int(document["n"])

    async def bump_revision(self) -> None:
        """Say that data changed. Call after the writes and before telling anyone they were made."""
        await self.revisions.update_one({"_id": REVISION_ID}, {"$inc": {"n": 1}}, upsert=True)

    # --- command outcomes ------------------------------------------------------------------

    async def outcome(self, command_id: str) -> Document | None:
        """The stored answer to a command already handled (or being handled), if any."""
        return await self.outcomes.find_one({"_id": command_id})

    async def record_outcome(
        self, command_id: str, command_type: str, event_type: str, event: Json, *, pending: bool
    ) -> None:
        """Remember the answer to a command; a second record for the same command is ignored."""
        with contextlib.suppress(DuplicateKeyError):
            await self.outcomes.insert_one(
                {
                    "_id": command_id,
                    "commandType": command_type,
                    "eventType": event_type,
                    "event": json.dumps(event),
                    "pending": pending,
                }
            )

    async def finish_outcome(self, command_id: str) -> None:
        """Mark a pending outcome's effects as fully applied."""
        await self.outcomes.update_one({"_id": command_id}, {"$set": {"pending": False}})

    # --- versioned saves -------------------------------------------------------------------

    async def save(
        self,
        collection: AsyncCollection[Document],
        *,
        entity_id: str,
        build: Build,
        keys: Callable[[Json], Document],
        command_id: str,
        history: str | None = None,
        expected_update_ts: str | None = None,
        duplicate: Callable[[Json], Rejected] | None = None,
    ) -> Saved:
        """Create or replace entity ``entity_id`` with ``build(current, updateTs)``.

        Last writer wins, unless ``expected_update_ts`` is given and is not the stored ``updateTs``
        (or the entity is gone): then a 409 :class:`Rejected` is raised and nothing is written.
        A unique-index clash on ``keys`` raises ``duplicate(body)`` (a 400). When the stored
        document was written by ``command_id`` already, nothing is written again.
        """
        for _ in range(MAX_RACES):
            current = await collection.find_one({"_id": entity_id})
            if current is not None and current.get("lastCommand") == command_id:
                body = _body(current) or {}
                await self._remember(history, entity_id, current, command_id)
                return Saved(body, bool(current.get("created")))
            if expected_update_ts is not None:
                stored = None if current is None else current.get("updateTs")
                if stored != expected_update_ts:
                    raise stale(
                        f"the submitted version is stale: it was read at updateTs {expected_update_ts}, "
                        + (
                            "but the entity was deleted since"
                            if stored is None
                            else f"but the stored updateTs is {stored}; reload, re-apply the change and save again"
                        ),
                        "updateTs",
                    )
            update_ts = next_update_ts(None if current is None else current.get("updateTs"))
            body = build(_body(current), update_ts)
            document: Document = {
                "_id": entity_id,
                **keys(body),
                "updateTs": update_ts,
                "version": (0 if current is None else int(current["version"])) + 1,
                "lastCommand": command_id,
                "created": current is None,
                "body": json.dumps(body),
            }
            try:
                if current is None:
                    await collection.insert_one(document)
                else:
                    replaced = await collection.find_one_and_replace(
                        {"_id": entity_id, "version": current["version"]}, document
                    )
                    if replaced is None:
                        continue
            except DuplicateKeyError as error:
                pattern = (error.details or {}).get("keyPattern", {})
                if "_id" in pattern or duplicate is None:
                    continue
                raise duplicate(body) from None
            await self._remember(history, entity_id, document, command_id)
            return Saved(body, current is None)
        raise RuntimeError(f"gave up saving {collection.name} {entity_id!r} after {MAX_RACES} concurrent writes")

    async def _remember(self, history: str | None, entity_id: str, document: Document, command_id: str) -> None:
        if history is None:
            return
        await self.history(history).update_one(
            {"entityId": entity_id, "command": command_id},
            {
                "$setOnInsert": {
                    "version": document["version"],
                    "updateTs": document["updateTs"],
                    "body": document["body"],
                }
            },
            upsert=True,
        )

    async def versions(self, history: str, entity_id: str, limit: int) -> list[Json]:
        """Stored versions of an entity, newest (the current one) first."""
        cursor = self.history(history).find({"entityId": entity_id}).sort("version", pymongo.DESCENDING).limit(limit)
        return [json.loads(document["body"]) async for document in cursor]

    # --- reads -----------------------------------------------------------------------------

    async def find(self, collection: AsyncCollection[Document], query: Document) -> Json | None:
        """The body of the one document matching ``query``."""
        return _body(await collection.find_one(query))

    async def find_document(self, collection: AsyncCollection[Document], query: Document) -> Document | None:
        """The stored document (with its ``_id`` and keys) matching ``query``."""
        return await collection.find_one(query)

    async def all(self, collection: AsyncCollection[Document], query: Document | None = None) -> list[Json]:
        """Bodies of every matching document, by ``nameKey``."""
        cursor = collection.find(query or {}).sort("nameKey", pymongo.ASCENDING)
        return [json.loads(document["body"]) async for document in cursor]

    async def ids(self, collection: AsyncCollection[Document], query: Document) -> list[str]:
        """The ids of every matching document."""
        return [str(document["_id"]) async for document in collection.find(query, {"_id": 1})]

    # --- deletes ---------------------------------------------------------------------------

    async def delete(self, collection: AsyncCollection[Document], query: Document) -> int:
        """Delete every matching document; how many went. Deleting nothing is not an error."""
        result = await collection.delete_many(query)
        return int(result.deleted_count)

    async def replace_body(
        self,
        collection: AsyncCollection[Document],
        entity_id: str,
        change: Build,
        keys: Callable[[Json], Document],
    ) -> None:
        """Rewrite one document's body outside history (cascades such as a project losing an app)."""
        for _ in range(MAX_RACES):
            current = await collection.find_one({"_id": entity_id})
            if current is None:
                return
            body = change(_body(current), str(current.get("updateTs")))
            replaced = await collection.find_one_and_update(
                {"_id": entity_id, "version": current["version"]},
                {"$set": {**keys(body), "body": json.dumps(body)}, "$inc": {"version": 1}},
            )
            if replaced is not None:
                return
        raise RuntimeError(f"gave up updating {collection.name} {entity_id!r} after {MAX_RACES} concurrent writes")


__all__ = ["Front50Store", "Saved"]
