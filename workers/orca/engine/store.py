"""Orca's ``orca_executions`` collection: one document per execution, with its outbox.

A change is one atomic write of one document: a compare-and-set on ``version`` that sets what
changed and appends the messages it causes to ``outbox``. What changed is found against the state
the change was made from (:func:`changes`): the top-level fields that differ and, of ``stages``,
only the stages that differ (``stages.<i>``), so a transition writes one stage of a long pipeline,
not all of them. The compare-and-set makes this safe: the write lands only on the very version
the change was computed from. Delivered messages are pulled from the outbox without touching
``version``, so delivering never conflicts with the next transition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.json_types import Json
from workers.orca.engine.model import Execution, OutboxEntry

COLLECTION = "orca_executions"
_KEY = "applicationKey"
CHECK_AFTER = "checkAfter"
"""The field of :func:`state` that holds ``Execution.check_after``."""


class StaleExecution(Exception):
    """The execution changed since it was loaded; reload it and apply the change again."""


class ExecutionStore:
    """Loads and saves :class:`Execution` documents; ``_id`` is the execution id."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]

    async def prepare(self) -> None:
        """Create the indexes lookups rely on; safe to call on every start."""
        await self.collection.create_index([(_KEY, ASCENDING), ("type", ASCENDING), ("buildTime", DESCENDING)])
        await self.collection.create_index([("pipelineConfigId", ASCENDING), ("buildTime", DESCENDING)])
        await self.collection.create_index([("outbox.createdAt", ASCENDING)])
        await self.collection.create_index([("checkAfter", ASCENDING)])

    async def insert(self, execution: Execution) -> bool:
        """Store a new execution; False (nothing written) when one with its id exists already."""
        try:
            await self.collection.insert_one(_document(execution))
        except DuplicateKeyError:
            return False
        return True

    async def get(self, execution_id: str) -> Execution | None:
        """The execution ``execution_id``, or ``None``."""
        return _execution(await self.collection.find_one({"_id": execution_id}))

    async def save(
        self,
        execution: Execution,
        outbox: Sequence[OutboxEntry],
        *,
        replace_outbox: bool = False,
        loaded: Json | None = None,
        current: Json | None = None,
    ) -> None:
        """Write ``execution``'s state and append ``outbox`` if nobody changed it since it was
        loaded; bumps its version. Raises :class:`StaleExecution` otherwise, writing nothing.

        ``loaded`` is :func:`state` of the execution as it was loaded at that version: only what
        differs from it is written. Without it, the whole state is. ``current`` is :func:`state`
        of ``execution`` when the caller has it already.
        ``replace_outbox`` writes the outbox as ``execution.outbox`` plus ``outbox`` instead of
        appending: the caller removed entries it delivered, saving a separate pull.
        """
        expected = execution.version
        current = state(execution) if current is None else current
        change = changes(loaded, current) if loaded is not None else {"$set": current}
        change.setdefault("$set", {})["version"] = expected + 1
        entries = [entry.model_dump(mode="json", by_alias=True) for entry in outbox]
        if replace_outbox:
            kept = [entry.model_dump(mode="json", by_alias=True) for entry in execution.outbox]
            change["$set"]["outbox"] = kept + entries
        else:
            change["$push"] = {"outbox": {"$each": entries}}
        result = await self.collection.update_one({"_id": execution.id, "version": expected}, change)
        if result.matched_count != 1:
            raise StaleExecution(f"execution {execution.id} changed since version {expected} was loaded")
        execution.version = expected + 1
        execution.outbox.extend(outbox)

    async def delivered(self, execution_id: str, entry_ids: Sequence[str]) -> None:
        """Remove delivered entries from the execution's outbox."""
        await self.collection.update_one({"_id": execution_id}, {"$pull": {"outbox": {"id": {"$in": list(entry_ids)}}}})

    async def with_pending_outbox(
        self, created_before: int, *, after: str | None = None, limit: int = 100
    ) -> list[Execution]:
        """Executions holding an outbox entry created before ``created_before`` (epoch ms), in id
        order, from the first id greater than ``after``: a page of a sweep that sees each once."""
        query: dict[str, Any] = {"outbox.createdAt": {"$lte": created_before}}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [execution for document in await cursor.to_list() if (execution := _execution(document))]

    async def stalled(self, now: int, limit: int = 100) -> list[Execution]:
        """Unfinished executions past their ``checkAfter`` with nothing left in their outbox."""
        query = {
            "status": {"$in": ["NOT_STARTED", "RUNNING"]},
            # a number, explicitly: "nothing to check" is null, which mongoeco (unlike MongoDB) matches with $lte
            CHECK_AFTER: {"$type": "number", "$lte": now},
            "outbox.0": {"$exists": False},
        }
        cursor = self.collection.find(query).sort("checkAfter", ASCENDING).limit(limit)
        return [execution for document in await cursor.to_list() if (execution := _execution(document))]

    async def running_stages_of_type(self, stage_type: str, started_before: int, limit: int = 100) -> list[Execution]:
        """RUNNING executions with a RUNNING stage of ``stage_type`` started before ``started_before``."""
        stage = {"type": stage_type, "status": "RUNNING", "startTime": {"$lte": started_before}}
        cursor = self.collection.find({"status": "RUNNING", "stages": {"$elemMatch": stage}}).limit(limit)
        return [execution for document in await cursor.to_list() if (execution := _execution(document))]

    async def statuses(self, execution_ids: Sequence[str]) -> dict[str, str]:
        """The status of each of ``execution_ids`` that exists."""
        cursor = self.collection.find({"_id": {"$in": list(execution_ids)}}, {"status": 1})
        return {str(document["_id"]): str(document["status"]) for document in await cursor.to_list()}

    async def search(
        self,
        *,
        application: str | None,
        pipeline_config_ids: Sequence[str],
        statuses: Sequence[str],
        limit: int,
        types: Sequence[str] = (),
        trigger_event_id: str | None = None,
    ) -> list[Execution]:
        """Executions matching every filter given (``types``: PIPELINE, ORCHESTRATION), newest first.

        One type with an application, or one pipeline config, is an equality on the leading keys
        of an index that ends in ``buildTime``: the newest are read from the index in order, not
        found by sorting every execution of the collection.
        """
        query: dict[str, Any] = {}
        if trigger_event_id is not None:
            query["trigger.eventId"] = trigger_event_id
        if types:
            query["type"] = _one_of(types)
        if application:
            query[_KEY] = application.lower()
        if pipeline_config_ids:
            query["pipelineConfigId"] = _one_of(pipeline_config_ids)
        if statuses:
            query["status"] = _one_of([status.upper() for status in statuses])
        cursor = self.collection.find(query).sort("buildTime", DESCENDING).limit(limit)
        return [execution for document in await cursor.to_list() if (execution := _execution(document))]


def _one_of(values: Sequence[str]) -> Any:
    """The filter matching any of ``values``: the value itself when there is one (an equality,
    which an index prefix serves), ``$in`` otherwise."""
    return values[0] if len(values) == 1 else {"$in": list(values)}


def state(execution: Execution) -> Json:
    """What :meth:`ExecutionStore.save` writes of ``execution``: its document without ``_id``,
    ``version`` and ``outbox`` (which the store manages)."""
    document = _document(execution)
    for key in ("_id", "version", "outbox"):
        document.pop(key)
    return document


def changes(before: Json, after: Json) -> Json:
    """The update that turns stored state ``before`` into ``after`` (both :func:`state`): ``$set``
    of each top-level field that differs, or of each differing stage by index when the stages are
    as many as before; ``$unset`` of fields no longer there."""
    updates: Json = {}
    for key, value in after.items():
        old = before.get(key, _ABSENT)
        if old == value:
            continue
        if key == "stages" and isinstance(old, list) and len(old) == len(value):
            updates.update({f"stages.{n}": stage for n, stage in enumerate(value) if old[n] != stage})
        else:
            updates[key] = value
    change: Json = {"$set": updates}
    removed = {key: "" for key in before if key not in after}
    if removed:
        change["$unset"] = removed
    return change


_ABSENT = object()


def _document(execution: Execution) -> dict[str, Any]:
    document = execution.model_dump(mode="json", by_alias=True)
    document["_id"] = execution.id
    document[_KEY] = execution.application.lower()
    return document


def _execution(document: dict[str, Any] | None) -> Execution | None:
    if document is None:
        return None
    fields = {key: value for key, value in document.items() if key not in ("_id", _KEY)}
    return Execution.model_validate(fields)
