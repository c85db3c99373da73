"""Echo's notifications: Spinnaker's pipeline, stage, manual-judgment and application-level
notifications, delivered by email (SMTP), Slack, Microsoft Teams, Google Chat and generic webhooks.

:func:`build_notifications` wires them: the Orca events Echo binds and their handlers, the
``echo.DeliverNotification`` handler, and the background loop that closes the HTTP session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bus import Handler
from bus.service import BackgroundTask
from gennaker.outbound import OutboundClient
from gennaker.resources import WorkerResources
from schemas.echo_notifications import DeliverNotification
from schemas.orca_engine import ExecutionCompleted, ExecutionStarted, StageCompleted, StageStarted
from workers.echo.notifications.channel import DeliveryFailed, NotificationChannel
from workers.echo.notifications.channels import Channels
from workers.echo.notifications.deliveries import DeliveryLog
from workers.echo.notifications.handlers import NotificationHandlers

EVENT_PATTERNS = ("orca.execution.*", "orca.stage.*")


@dataclass(frozen=True)
class NotificationWiring:
    """What Echo's service takes from notifications: handlers by message type, patterns, loops."""

    commands: dict[str, Handler] = field(default_factory=dict)
    events: dict[str, Handler] = field(default_factory=dict)
    patterns: tuple[str, ...] = EVENT_PATTERNS
    background: list[BackgroundTask] = field(default_factory=list)


def build_notifications(service: str, resources: WorkerResources) -> NotificationWiring:
    """Notification handlers over Echo's own collection, with the settings' channels."""
    settings = resources.settings
    channels = Channels(settings.notifications, OutboundClient(settings.outbound))
    handlers = NotificationHandlers(
        service,
        settings.notifications,
        DeliveryLog(resources.db),
        channels,
        query_timeout=settings.query_timeout,
    )
    return NotificationWiring(
        commands={DeliverNotification.message_type: handlers.deliver},
        events={
            ExecutionStarted.message_type: handlers.execution_started,
            ExecutionCompleted.message_type: handlers.execution_completed,
            StageStarted.message_type: handlers.stage_started,
            StageCompleted.message_type: handlers.stage_completed,
        },
        background=[channels.close_on_stop],
    )


__all__ = ["DeliveryFailed", "NotificationChannel", "NotificationWiring", "build_notifications"]
