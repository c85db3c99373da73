"""Clients' ``Idempotency-Key``s, remembered by Orca: a trigger or task a client sends again with the
same key starts nothing new.

The gateway holds no database, so the key travels in the command (``client_key``: the caller, the
key and a fingerprint of the request) to Orca, which keeps ``(caller, key) → the first request's
id and fingerprint`` in ``orca_client_keys`` for 24 h (a TTL index removes them afterwards; one
found expired before that is claimed anew). The first command carrying a key claims it for its
own execution (or task) id; a later one runs as the first one's — so whichever of the two Orca
handles first (the first may still sit in a queue when the retry arrives), one execution is made
— and is answered with it (``orca.command.repeated``; a task answers with its ``orca.task.updated``);
one carrying another request under the key is refused with ``orca.command.rejected`` 422, as the
IETF httpapi draft suggests.

The guards wrap the handlers of ``orca.StartExecution`` and ``orca.SubmitTask``; a command without a
key goes straight through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from bus import Handler, MessageContext
from schemas.idempotency import HEADER, WINDOW_MS, ClientKey
from schemas.orca import SubmitTask
from schemas.orca_engine import ExecutionCommandRejected, ExecutionCommandRepeated, StartExecution
from workers.orca.engine.store import ExecutionStore

log = structlog.get_logger("gennaker.orca.client_keys")

COLLECTION = "orca_client_keys"


@dataclass(frozen=True)
class Claimed:
    """Whose key it is: the id the first request made, and whether this request is that same one."""

    ref: str
    same_request: bool


class ClientKeys:
    """The ``orca_client_keys`` collection."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]
        self._indexed = False

    async def claim(self, key: ClientKey, ref: str) -> Claimed:
        """Claim ``key`` for ``ref`` unless a request claimed it within the window; say whose it is."""
        if not self._indexed:
            await self.collection.create_index("expiresAt", expireAfterSeconds=0)
            self._indexed = True
        now = datetime.now(UTC)
        record = {
            "_id": key.record_id(),
            "ref": ref,
            "fingerprint": key.fingerprint,
            "expiresAt": now + timedelta(milliseconds=WINDOW_MS),
        }
        try:
            await self.collection.insert_one(record)
            return Claimed(ref, True)
        except DuplicateKeyError:
            pass
        expired = {"_id": record["_id"], "expiresAt": {"$lte": now}}  # not yet removed by the TTL monitor
        if await self.collection.find_one_and_replace(expired, record) is not None:
            return Claimed(ref, True)
        found = await self.collection.find_one({"_id": record["_id"]})
        if found is None:  # removed meanwhile: claim it again
            return await self.claim(key, ref)
        return Claimed(str(found["ref"]), found["fingerprint"] == key.fingerprint)


def guard_start_execution(handler: Handler, keys: ClientKeys, executions: ExecutionStore) -> Handler:
    """``orca.StartExecution``'s handler, minding the command's ``client_key``."""

    async def start_execution(command: StartExecution, context: MessageContext) -> None:
        if command.client_key is None:
            await handler(command, context)
            return
        claimed = await keys.claim(command.client_key, command.execution_id)
        if not claimed.same_request:
            await _refuse(command, command.client_key, claimed.ref, context)
            return
        if claimed.ref == command.execution_id:
            await handler(command, context)  # the key's first request (or its redelivery)
            return
        await handler(command.model_copy(update={"execution_id": claimed.ref}), context)
        status = (await executions.statuses([claimed.ref])).get(claimed.ref, "NOT_STARTED")
        log.info("trigger repeated under its Idempotency-Key", execution_id=claimed.ref, status=status)
        await context.publish(
            ExecutionCommandRepeated(command_type=command.message_type, execution_id=claimed.ref, status=status),
            subject=claimed.ref,
        )

    return start_execution


def guard_submit_task(handler: Handler, keys: ClientKeys) -> Handler:
    """``orca.SubmitTask``'s handler, minding the command's ``client_key`` (a repeated task id is
    answered with the task as it is, by the handler itself)."""

    async def submit(command: SubmitTask, context: MessageContext) -> None:
        if command.client_key is None:
            await handler(command, context)
            return
        claimed = await keys.claim(command.client_key, command.task_id)
        if not claimed.same_request:
            await _refuse(command, command.client_key, claimed.ref, context)
            return
        if claimed.ref != command.task_id:
            log.info("task repeated under its Idempotency-Key", task_id=claimed.ref)
        await handler(command.model_copy(update={"task_id": claimed.ref}), context)

    return submit


async def _refuse(command: StartExecution | SubmitTask, key: ClientKey, ref: str, context: MessageContext) -> None:
    reason = (
        f"this {HEADER} was used within the last 24 hours for another request (its first made {ref}); "
        "send a new key for a new request, or the first request again to get its answer"
    )
    log.info("request refused: Idempotency-Key reused for another request", ref=ref)
    await context.publish(
        ExecutionCommandRejected(
            command_type=command.message_type, execution_id=ref, status=422, reason=reason, field=HEADER
        ),
        subject=ref,
    )
