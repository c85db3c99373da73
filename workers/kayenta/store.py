"""Kayenta's MongoDB collections: canary executions and the metric set pairs they judged.

``kayenta_executions`` holds one document per execution id (Kayenta's
``CanaryExecutionStatusResponse`` as JSON text in ``body``, with ``applicationKey``, ``status`` and
``startTimeMillis`` beside it for queries); ``kayenta_pair_lists`` the metric set pairs of each;
``kayenta_client_keys`` the fingerprint of the request that first used a client's
``Idempotency-Key`` (by the execution id derived from the key), kept as long as the execution.
Writes are upserts by id, so a redelivered run overwrites its own execution and nothing else.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pymongo
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.json_types import Json

Document = dict[str, Any]


class KayentaStore:
    """Kayenta's collections in one database."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self._indexed = False
        self._lock = asyncio.Lock()

    @property
    def executions(self) -> AsyncCollection[Document]:
        return self.db["kayenta_executions"]

    @property
    def pair_lists(self) -> AsyncCollection[Document]:
        return self.db["kayenta_pair_lists"]

    async def ensure_indexes(self) -> None:
        """The index the per-application list needs; cheap after the first call."""
        if self._indexed:
            return
        async with self._lock:
            if not self._indexed:
                await self.executions.create_index(
                    [("applicationKey", pymongo.ASCENDING), ("startTimeMillis", pymongo.DESCENDING)],
                    name="application_newest",
                )
                self._indexed = True

    @staticmethod
    def _document(execution: Json) -> Document:
        return {
            "applicationKey": str(execution.get("application", "")).lower(),
            "status": execution.get("status"),
            "startTimeMillis": execution.get("startTimeMillis"),
            "parentStage": [execution.get("parentPipelineExecutionId"), execution.get("parentStageId")],
            "body": json.dumps(execution),
        }

    async def save_execution(self, execution: Json) -> None:
        """Store (or replace) the execution ``execution["id"]``."""
        await self.executions.update_one({"_id": execution["id"]}, {"$set": self._document(execution)}, upsert=True)

    async def finish_execution(self, execution: Json) -> bool:
        """Store the finished ``execution`` over its running one; ``False`` (nothing stored) when it
        is no longer running (it was cancelled meanwhile)."""
        done = await self.executions.update_one(
            {"_id": execution["id"], "status": "running"}, {"$set": self._document(execution)}
        )
        return done.modified_count == 1

    async def running_of_stage(self, pipeline_execution_id: str, stage_id: str) -> list[Json]:
        """The runs in progress for Orca's stage ``stage_id`` of ``pipeline_execution_id``."""
        cursor = self.executions.find({"parentStage": [pipeline_execution_id, stage_id], "status": "running"})
        return [json.loads(document["body"]) async for document in cursor]

    async def execution(self, execution_id: str) -> Json | None:
        """One execution, or ``None``."""
        found = await self.executions.find_one({"_id": execution_id})
        return None if found is None else dict(json.loads(found["body"]))

    async def executions_of(self, application: str, limit: int) -> list[Json]:
        """An application's executions, newest first."""
        cursor = self.executions.find({"applicationKey": application.lower()})
        cursor = cursor.sort("startTimeMillis", pymongo.DESCENDING).limit(limit)
        return [json.loads(document["body"]) async for document in cursor]

    async def claim_key(self, execution_id: str, fingerprint: str) -> bool:
        """Claim the run ``execution_id`` (derived from a client's key) for the request ``fingerprint``;
        whether the key's first request was this same request."""
        try:
            await self.db["kayenta_client_keys"].insert_one({"_id": execution_id, "fingerprint": fingerprint})
            return True
        except DuplicateKeyError:
            found = await self.db["kayenta_client_keys"].find_one({"_id": execution_id})
            return found is None or found.get("fingerprint") == fingerprint

    async def save_pairs(self, pair_list_id: str, application: str, pairs: list[Json]) -> None:
        """Store the metric set pairs of an execution."""
        document = {"application": application, "body": json.dumps(pairs)}
        await self.pair_lists.update_one({"_id": pair_list_id}, {"$set": document}, upsert=True)

    async def pairs(self, pair_list_id: str) -> tuple[list[Json], str] | None:
        """The pairs stored under ``pair_list_id`` and their application, or ``None``."""
        found = await self.pair_lists.find_one({"_id": pair_list_id})
        return None if found is None else (list(json.loads(found["body"])), str(found.get("application", "")))
