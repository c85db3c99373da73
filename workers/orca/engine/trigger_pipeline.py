"""``orca.TriggerPipeline``: other services (Echo's webhook, cron and git triggers) start a pipeline
config by name or id with a trigger of their own.

The config comes from Front50 (by id, else by the application and name); an unknown or disabled
one is answered with ``orca.command.rejected``. The execution's id is derived from the command's
``idempotency_key`` (timed by it when the key is a ULID), so a repeated command starts one
execution; ``StartExecution`` applies the ``parameterConfig`` defaults and answers
``orca.execution.started``.
"""

from __future__ import annotations

from typing import Literal

import structlog
from ulid import ULID

from bus import MessageContext
from schemas.front50 import GetPipelineConfig, PipelineFound
from schemas.json_types import Json
from schemas.orca_engine import ExecutionCommandRejected, StartExecution, TriggerPipeline
from workers.orca.engine.triggers import derived_execution_id

log = structlog.get_logger("gennaker.orca.triggers")


def keyed_execution_id(idempotency_key: str) -> str:
    """The execution id for ``idempotency_key``: timed by the key when it is a ULID."""
    try:
        at = int(ULID.from_str(idempotency_key).timestamp * 1000)
    except ValueError:
        at = 0
    return derived_execution_id(f"trigger/{idempotency_key}", at)


class PipelineTriggerCommands:
    """Handles ``orca.TriggerPipeline``; Front50 failing to answer raises, so the bus retries."""

    def __init__(self, *, front50_timeout: float = 5.0) -> None:
        self.front50_timeout = front50_timeout

    async def trigger_pipeline(self, command: TriggerPipeline, context: MessageContext) -> None:
        execution_id = keyed_execution_id(command.idempotency_key)
        config = await self._config(command, context)
        if config is None:
            reason = (
                f"application {command.application!r} has no pipeline named or with id {command.pipeline_name_or_id!r}"
            )
            await self._reject(command, execution_id, 404, reason, context)
            return
        if config.get("disabled") is True:
            reason = f"pipeline {config.get('name')!r} of {command.application!r} is disabled; enable it to trigger it"
            await self._reject(command, execution_id, 400, reason, context)
            return
        user = str(command.trigger.get("user") or command.authority.user)
        trigger = {**command.trigger, "user": user, "parameters": dict(command.trigger.get("parameters") or {})}
        await context.send(
            StartExecution(execution_id=execution_id, pipeline=config, trigger=trigger, authority=command.authority)
        )
        log.info("pipeline triggered", execution_id=execution_id, config=config.get("id"), type=trigger.get("type"))

    async def _config(self, command: TriggerPipeline, context: MessageContext) -> Json | None:
        by_id = await context.ask(GetPipelineConfig(id=command.pipeline_name_or_id), timeout=self.front50_timeout)
        found = by_id.pipeline if isinstance(by_id, PipelineFound) else None
        if found is not None and str(found.get("application") or "").lower() == command.application.lower():
            return found
        by_name = await context.ask(
            GetPipelineConfig(application=command.application, name=command.pipeline_name_or_id),
            timeout=self.front50_timeout,
        )
        return by_name.pipeline if isinstance(by_name, PipelineFound) else None

    async def _reject(
        self,
        command: TriggerPipeline,
        execution_id: str,
        status: Literal[400, 404],
        reason: str,
        context: MessageContext,
    ) -> None:
        log.info("pipeline trigger rejected", execution_id=execution_id, reason=reason)
        await context.publish(
            ExecutionCommandRejected(
                command_type=command.message_type,
                execution_id=execution_id,
                status=status,
                reason=reason,
                field="pipeline_name_or_id",
            ),
            subject=execution_id,
        )
