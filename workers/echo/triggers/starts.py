"""Starting a pipeline for a trigger: one ``orca.TriggerPipeline`` and one ``echo.trigger.fired``.

The trigger Orca records is the configured trigger as Echo's ``Pipeline.withTrigger`` makes it:
the config's trigger with the fire's details added, ``user`` from its ``runAsUser``, and its
``secret`` left out (an execution is readable by everyone who may read the application).
"""

from __future__ import annotations

from typing import Any

import structlog

from bus import Bus, MessageContext
from schemas.authority import Authority
from schemas.echo import TriggerFired, TriggerType
from schemas.orca_engine import TriggerPipeline

log = structlog.get_logger("gennaker.echo.triggers")

Json = dict[str, Any]
HIDDEN_TRIGGER_FIELDS = ("secret",)


def execution_trigger(configured: Json, **details: Any) -> Json:
    """The trigger an execution carries: ``configured`` without secrets, plus ``details``."""
    trigger = {key: value for key, value in configured.items() if key not in HIDDEN_TRIGGER_FIELDS}
    trigger.update(details)
    trigger.setdefault("user", configured.get("runAsUser") or "anonymous")
    trigger.setdefault("parameters", {})
    return trigger


def run_as(trigger: Json) -> Authority:
    """Whose rights the triggered execution runs with: the trigger's ``runAsUser``, else nobody's."""
    run_as_user = trigger.get("runAsUser")
    if isinstance(run_as_user, str) and run_as_user.strip():
        return Authority(user=run_as_user.strip()[:256], service_account=True)
    return Authority.nobody()


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
) -> None:
    """Send ``orca.TriggerPipeline`` for ``config`` keyed by ``key``, then announce it."""
    await sender.send(
        TriggerPipeline(
            application=str(config["application"]),
            pipeline_name_or_id=str(config["id"]),
            trigger=trigger,
            idempotency_key=key,
            authority=run_as(trigger),
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
