"""Handles ``orca.DeleteExecution``: Gate's ``DELETE /pipelines/{id}``.

Only a finished execution is deleted, in one conditional write (``status`` among the complete
ones), so a restart racing the delete either reopens the execution first (and the delete is
refused) or finds it gone. Every outcome is answered with an event caused by the command:
``orca.execution.deleted``, or ``orca.command.rejected`` with 404 (unknown), 403 (its authority lacks
WRITE on the application) or 400 (still running).
"""

from __future__ import annotations

from typing import Literal

import structlog

from bus import MessageContext
from schemas.authority import Permission
from schemas.base import Query, Reply
from schemas.orca_engine import DeleteExecution, ExecutionCommandRejected, ExecutionDeleted
from workers.orca.engine.access import AccessPolicy
from workers.orca.engine.status import ExecutionStatus
from workers.orca.engine.store import ExecutionStore

log = structlog.get_logger("gennaker.orca.engine")

FINISHED = [status.value for status in ExecutionStatus if status.complete]


class ExecutionDeletion:
    """The handler of :class:`DeleteExecution`."""

    def __init__(self, store: ExecutionStore, access: AccessPolicy | None = None) -> None:
        self.store = store
        self.access = access or AccessPolicy()

    async def delete_execution(self, command: DeleteExecution, context: MessageContext) -> None:
        execution = await self.store.get(command.execution_id)
        if execution is None:
            await self._reject(command, context, 404, f"Execution not found (id: {command.execution_id})")
            return

        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=self.access.front50_timeout)

        refusal = await self.access.refusal(command.authority, execution.application, Permission.WRITE, ask)
        if refusal is not None:
            await self._reject(command, context, 403, refusal)
            return
        result = await self.store.collection.delete_one({"_id": execution.id, "status": {"$in": FINISHED}})
        if result.deleted_count != 1:
            reason = (
                f"execution {execution.id} is {execution.status.value}; cancel it and delete it once it has finished"
            )
            await self._reject(command, context, 400, reason)
            return
        log.info("execution deleted", execution_id=execution.id, user=command.authority.user)
        await context.publish(
            ExecutionDeleted(execution_id=execution.id, application=execution.application), subject=execution.id
        )

    async def _reject(
        self, command: DeleteExecution, context: MessageContext, status: Literal[400, 403, 404], reason: str
    ) -> None:
        rejected = ExecutionCommandRejected(
            command_type=command.message_type,
            execution_id=command.execution_id,
            status=status,
            reason=reason,
        )
        await context.publish(rejected, subject=command.execution_id)
