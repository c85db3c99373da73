"""Pipeline triggers: a pipeline config with an enabled ``pipeline`` trigger runs when the pipeline
it names finishes with one of the trigger's statuses (Echo's ``PipelineTriggerMonitor``).

On ``orca.execution.completed`` Orca asks Front50 for every pipeline config and starts each enabled
config holding an enabled trigger ``{type: "pipeline", application, pipeline: <config id>, status:
[...]}`` that names the finished execution's application, config and status (``successful`` for
SUCCEEDED, ``failed`` for TERMINAL, ``canceled`` for CANCELED; other statuses trigger nothing).

The triggered execution's id is fixed by the finished execution and the triggered config, so a
redelivered completion starts nothing twice. A pipeline may trigger itself, as in Spinnaker: the
loop ends when its status stops matching, or when someone disables the trigger. If Front50 does not
answer, the completion triggers nothing (logged), as Echo triggers nothing while its pipeline
cache is empty.

The triggered execution runs as the trigger's ``runAsUser`` (a Front50 service account), or
unattended without one (:meth:`~workers.orca.engine.access.AccessPolicy.unattended`); never with
the authority of the execution that fired it, since whoever configured the trigger need not be
whoever ran that pipeline. Starting it then needs EXECUTE, as any start does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import structlog
from ulid import ULID

from bus import BusError, Handler, MessageContext
from schemas.base import Query, Reply
from schemas.front50 import ListPipelineConfigs, PipelineList
from schemas.json_types import Json
from schemas.orca_engine import ExecutionCompleted, StartExecution
from workers.orca.engine.access import AccessPolicy
from workers.orca.engine.model import Execution
from workers.orca.engine.store import ExecutionStore

log = structlog.get_logger("gennaker.orca.triggers")

PIPELINE_TRIGGER_TYPE = "pipeline"
"""The trigger type Orca fires when a pipeline it names completes (Front50 accepts it at save)."""

TRIGGER_STATUS = {"SUCCEEDED": "successful", "TERMINAL": "failed", "CANCELED": "canceled"}
"""The name a ``pipeline`` trigger's ``status`` list uses for an execution's final status."""


def derived_execution_id(key: str, at: int) -> str:
    """A ULID timed at ``at`` (ms) whose randomness is a hash of ``key``: one id per key."""
    digest = hashlib.sha256(key.encode()).digest()
    return str(ULID.from_bytes(max(at, 0).to_bytes(6, "big") + digest[:10]))


def triggered_by(configs: Iterable[Json], event: ExecutionCompleted) -> list[Json]:
    """The enabled configs with an enabled ``pipeline`` trigger matching the finished execution."""
    return [config for config, _ in fired(configs, event)]


def fired(configs: Iterable[Json], event: ExecutionCompleted) -> list[tuple[Json, Json]]:
    """Each enabled config with the first of its enabled ``pipeline`` triggers the finished execution fires."""
    status = TRIGGER_STATUS.get(event.status)
    if status is None or not event.pipeline_config_id:
        return []
    found: list[tuple[Json, Json]] = []
    for config in configs:
        if config.get("disabled") is True or not isinstance(config.get("id"), str):
            continue
        trigger = next((t for t in config.get("triggers") or [] if _matches(t, event, status)), None)
        if trigger is not None:
            found.append((config, trigger))
    return found


def _matches(trigger: object, event: ExecutionCompleted, status: str) -> bool:
    if (
        not isinstance(trigger, dict)
        or trigger.get("type") != PIPELINE_TRIGGER_TYPE
        or trigger.get("enabled") is not True
    ):
        return False
    statuses = trigger.get("status") or []
    return (
        trigger.get("application") == event.application
        and trigger.get("pipeline") == event.pipeline_config_id
        and isinstance(statuses, list)
        and status in [str(s).lower() for s in statuses]
    )


def pipeline_trigger(parent: Execution | None, event: ExecutionCompleted) -> Json:
    """The triggered execution's trigger (Orca's ``PipelineTrigger``), summarising the parent."""
    user = (parent.trigger.get("user") or parent.authentication.get("user") if parent else None) or "anonymous"
    return {
        "type": PIPELINE_TRIGGER_TYPE,
        "user": user,
        "parentExecution": {
            "id": event.execution_id,
            "type": parent.type if parent else "PIPELINE",
            "application": event.application,
            "name": event.name,
            "pipelineConfigId": event.pipeline_config_id,
            "status": event.status,
            "startTime": parent.start_time if parent else None,
            "endTime": parent.end_time if parent else None,
            "trigger": parent.trigger if parent else {},
        },
        "parentPipelineId": event.pipeline_config_id,
        "parentPipelineName": event.name,
        "parentPipelineApplication": event.application,
        "parentStatus": event.status,
        "parameters": {},
    }


class PipelineTriggers:
    """Starts the pipelines whose ``pipeline`` triggers a finished execution fires."""

    def __init__(
        self, store: ExecutionStore, *, front50_timeout: float = 2.0, access: AccessPolicy | None = None
    ) -> None:
        self.store = store
        self.front50_timeout = front50_timeout
        self.access = access or AccessPolicy()

    async def execution_completed(self, event: ExecutionCompleted, context: MessageContext) -> None:
        if TRIGGER_STATUS.get(event.status) is None or not event.pipeline_config_id:
            return
        try:
            reply = await context.ask(ListPipelineConfigs(), timeout=self.front50_timeout)
        except BusError as error:
            log.warning(
                "pipeline triggers not checked: Front50 did not answer",
                execution_id=event.execution_id,
                error=str(error),
            )
            return
        matches = fired(reply.pipelines if isinstance(reply, PipelineList) else [], event)
        if not matches:
            return
        parent = await self.store.get(event.execution_id)
        at = (parent.end_time if parent else None) or 0

        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=self.front50_timeout)

        for config, configured in matches:
            run_as = await self.access.run_as(configured, ask)
            if isinstance(run_as, str):
                log.warning("pipeline trigger refused", config=config["id"], reason=run_as)
                continue
            trigger = pipeline_trigger(parent, event)
            if configured.get("runAsUser"):  # Spinnaker shows the service account as the trigger's user
                trigger |= {"user": run_as.user, "runAsUser": run_as.user}
            execution_id = derived_execution_id(f"pipeline-trigger/{event.execution_id}/{config['id']}", at)
            await context.send(
                StartExecution(execution_id=execution_id, pipeline=config, trigger=trigger, authority=run_as)
            )
            log.info("pipeline triggered", parent=event.execution_id, execution_id=execution_id, config=config["id"])


def in_turn(*handlers: Handler) -> Handler:
    """One handler running ``handlers`` one after the other (each idempotent, so a retry is safe)."""

    async def handle(message: object, context: MessageContext) -> None:
        for handler in handlers:
            await handler(message, context)

    return handle
