"""Echo's triggers: what starts pipelines from outside (cron, webhooks, git pushes, CloudEvents).

:func:`build_triggers` wires them over the worker's database: the ``echo.HandleWebhook`` command,
the ``echo.ListRecentEvents`` query, the cron scheduler and the trigger-events consumer as
background loops. Every start is one keyed ``orca.TriggerPipeline`` (Orca owns executions and
answers unknown or disabled configs with ``orca.command.rejected``). Pipeline triggers (a pipeline
finishing starts another) live in Orca (``workers/orca/engine/triggers.py``), which sees the
completions first hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bus import Handler
from bus.service import BackgroundTask
from schemas.echo import GetWebhookDelivery, HandleWebhook, ListRecentEvents
from workers.echo.triggers.cloudevents import CloudEventTriggers
from workers.echo.triggers.cron import CronOptions, CronScheduler
from workers.echo.triggers.cron_store import CronFires
from workers.echo.triggers.events import TriggerEvents
from workers.echo.triggers.history import RecentEventsStore
from workers.echo.triggers.pipelines import PipelineIndex
from workers.echo.triggers.starts import RunAs
from workers.echo.triggers.webhook_keys import WebhookDeliveries
from workers.echo.triggers.webhooks import WebhookTriggers


@dataclass(frozen=True)
class TriggerOptions:
    """Knobs tests and operators turn: the cron scheduler's, the config refresh, the history's size."""

    cron: CronOptions = field(default_factory=CronOptions)
    refresh_seconds: float = 30.0
    history_capacity: int = 10_000
    instance: str = "echo"


@dataclass(frozen=True)
class Triggers:
    """Handlers and loops for Echo's service, plus the parts tests drive directly."""

    commands: dict[str, Handler]
    queries: dict[str, Handler]
    background: list[BackgroundTask]
    index: PipelineIndex
    scheduler: CronScheduler
    events: TriggerEvents


def build_triggers(
    service: str,
    db: AsyncDatabase[dict[str, Any]],
    options: TriggerOptions | None = None,
    *,
    identity: RunAs | None = None,
) -> Triggers:
    """Everything triggers need, over ``db`` (collections ``echo_cron_fires``, ``echo_recent_events`` and
    ``echo_webhook_deliveries``); ``identity`` resolves whose rights each fired pipeline runs with."""
    options = options or TriggerOptions()
    identity = identity or RunAs()
    index = PipelineIndex(refresh_seconds=options.refresh_seconds)
    history = RecentEventsStore(db, capacity=options.history_capacity)
    scheduler = CronScheduler(index, CronFires(db), options=options.cron, instance=options.instance, identity=identity)
    deliveries = WebhookDeliveries(db)
    events = TriggerEvents(index, history, CloudEventTriggers(index, identity, deliveries))
    webhooks = WebhookTriggers(index, deliveries, identity)
    return Triggers(
        commands={HandleWebhook.message_type: webhooks.handle_webhook},
        queries={
            ListRecentEvents.message_type: history.list_recent,
            GetWebhookDelivery.message_type: deliveries.get_webhook_delivery,
        },
        background=[scheduler.run, events.background(service)],
        index=index,
        scheduler=scheduler,
        events=events,
    )
