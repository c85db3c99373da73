"""Wires Echo (notifications and triggers) to the bus.

Triggers (:mod:`workers.echo.triggers`): the ``echo.HandleWebhook`` command the gateway sends for
``POST /webhooks/...``, the ``echo.ListRecentEvents`` query behind the event stream's resume, the
cron scheduler, and a consumer of every event (its own durable queue,
``gennaker.echo.trigger-events``) for CloudEvent triggers, the recent-events history and keeping
Echo's copy of the pipeline configs current. State lives in Echo's collections
(``echo_cron_fires``, ``echo_recent_events``).

Notifications and sinks (:mod:`workers.echo.outbound`): Orca's events become notifications
(``echo.DeliverNotification`` per recipient, ``echo_notification_deliveries``), and each configured
sink forwards events from a durable queue of its own.
"""

from __future__ import annotations

from bus import Endpoint
from bus.service import Service, instance_id
from gennaker import __version__
from gennaker.resources import WorkerResources
from workers.echo.outbound import with_notifications_and_sinks
from workers.echo.triggers import TriggerOptions, build_triggers
from workers.echo.triggers.starts import RunAs

NAME = "echo"


def build_service(resources: WorkerResources, *, triggers: TriggerOptions | None = None) -> Service:
    """Echo's endpoints and background loops; the host adds the ping query."""
    options = triggers or TriggerOptions(instance=instance_id())
    identity = RunAs(authentication=resources.settings.auth.mode != "none", timeout=resources.settings.query_timeout)
    echo_triggers = build_triggers(NAME, resources.db, options, identity=identity)
    service = Service(
        name=NAME,
        version=__version__,
        endpoints=[
            Endpoint(service=NAME, kind="commands", handlers={**echo_triggers.commands}),
            Endpoint(service=NAME, kind="queries", handlers={**echo_triggers.queries}),
        ],
        background=[*echo_triggers.background],
    )
    return with_notifications_and_sinks(service, resources)
