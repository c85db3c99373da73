"""Starting a pipeline for a trigger: one ``orca.TriggerPipeline`` and one ``echo.trigger.fired``.

The trigger Orca records is the configured trigger as Echo's ``Pipeline.withTrigger`` makes it:
the config's trigger with the fire's details added, ``user`` from its ``runAsUser``, and its
``secret`` left out (an execution is readable by everyone who may read the application).

The pipeline runs with the trigger's ``runAsUser`` service account, resolved in Front50 (its name
and ``memberOf`` roles), as Echo's ``PipelineInitiator`` runs it; without one it runs unattended
(Fiat's ``anonymous`` once authentication is on: :func:`schemas.permissions.unattended`). A
``runAsUser`` naming no service account starts nothing; Orca refuses a start the authority may not
EXECUTE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from bus import Bus, MessageContext
from schemas.authority import Authority
from schemas.base import Query, Reply
from schemas.echo import TriggerFired, TriggerType
from schemas.json_types import Json
from schemas.orca_engine import TriggerPipeline
from schemas.permissions import run_as

log = structlog.get_logger("gennaker.echo.triggers")

HIDDEN_TRIGGER_FIELDS = ("secret",)


def execution_trigger(configured: Json, **details: Any) -> Json:
    """The trigger an execution carries: ``configured`` without secrets, plus ``details``."""
    trigger = {key: value for key, value in configured.items() if key not in HIDDEN_TRIGGER_FIELDS}
    trigger.update(details)
    trigger.setdefault("user", configured.get("runAsUser") or "anonymous")
    trigger.setdefault("parameters", {})
    return trigger


@dataclass(frozen=True)
class RunAs:
    """How Echo resolves whose rights a triggered pipeline runs with."""

    authentication: bool = False
    """Whether callers are authenticated (``auth.mode`` is not ``none``)."""
    timeout: float = 5.0
    """Seconds Front50 has to answer for a service account."""

    async def authority(self, sender: Bus | MessageContext, trigger: Json) -> Authority | str:
        """The authority for ``trigger``, or why it may not fire."""

        async def ask(query: Query) -> Reply:
            return await sender.ask(query, timeout=self.timeout)

        return await run_as(ask, trigger, authentication=self.authentication)


async def start_pipeline(
    sender: Bus | MessageContext,
    config: Json,
    trigger: Json,
    *,
    key: str,
    trigger_type: TriggerType,
    event_id: str | None = None,
    scheduled_time: int | None = None,
    misfire: bool = False,
    identity: RunAs | None = None,
) -> str | None:
    """Send ``orca.TriggerPipeline`` for ``config`` keyed by ``key``, then announce it; returns why
    nothing was sent when the trigger's ``runAsUser`` cannot be resolved."""
    authority = await (identity or RunAs()).authority(sender, trigger)
    if isinstance(authority, str):
        log.warning("trigger refused", trigger_type=trigger_type, config=config["id"], reason=authority)
        return authority
    await sender.send(
        TriggerPipeline(
            application=str(config["application"]),
            pipeline_name_or_id=str(config["id"]),
            trigger=trigger,
            idempotency_key=key,
            authority=authority,
        )
    )
    fired = TriggerFired(
        trigger_type=trigger_type,
        application=str(config["application"]),
        pipeline_config_id=str(config["id"]),
        pipeline_name=str(config.get("name", "")),
        idempotency_key=key,
        event_id=event_id,
        scheduled_time=scheduled_time,
        misfire=misfire,
    )
    await sender.publish(fired, subject=str(config["id"]))
    log.info("pipeline triggered", trigger_type=trigger_type, config=config["id"], key=key, misfire=misfire)
    return None
