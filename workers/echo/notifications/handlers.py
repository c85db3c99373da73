"""Echo's notification handlers: Orca's events in, one ``echo.DeliverNotification`` per recipient out.

The event handlers read the execution from Orca (``orca.GetExecution``) and the application's
preferences from Front50 (``front50.GetNotifications``), render each notification once and send
Echo one delivery command per recipient; an event that stands for no ``when`` at all (a canceled
execution, a skipped or canceled stage) asks neither; the delivery handler calls the channel. A redelivered
event sends the same delivery ids again, and the delivery log turns those into no-ops.
"""

from __future__ import annotations

from typing import Any

import structlog

from bus import MessageContext
from schemas import idempotency
from schemas.echo_notifications import DeliverNotification, NotificationSent, NotificationSettings
from schemas.front50 import GetNotifications, NotificationsFound
from schemas.json_types import Json
from schemas.orca_engine import (
    ExecutionCompleted,
    ExecutionFound,
    ExecutionStarted,
    GetExecution,
    StageCompleted,
    StageStarted,
)
from workers.echo.notifications.channel import DeliveryFailed
from workers.echo.notifications.channels import Channels
from workers.echo.notifications.deliveries import DeliveryLog
from workers.echo.notifications.planner import (
    execution_whens,
    recipients,
    stage_completed_whens,
    stage_started_whens,
)
from workers.echo.notifications.templates import render

log = structlog.get_logger("gennaker.echo.notifications")


class NotificationHandlers:
    """Turns Orca's events into deliveries, and delivers them."""

    def __init__(
        self,
        service: str,
        settings: NotificationSettings,
        deliveries: DeliveryLog,
        channels: Channels,
        *,
        query_timeout: float = 5.0,
    ) -> None:
        self.service = service
        self.settings = settings
        self.deliveries = deliveries
        self.channels = channels
        self.query_timeout = query_timeout

    async def execution_started(self, event: ExecutionStarted, context: MessageContext) -> None:
        await self._notify(context, event.execution_id, None, lambda stage: ["pipeline.starting"])

    async def execution_completed(self, event: ExecutionCompleted, context: MessageContext) -> None:
        if not execution_whens(event.status):
            return  # a canceled execution notifies nobody: neither Orca nor Front50 is asked
        await self._notify(context, event.execution_id, None, lambda stage: execution_whens(event.status))

    async def stage_started(self, event: StageStarted, context: MessageContext) -> None:
        if not stage_started_whens(event.stage_type, event.status):
            return  # a stage skipped at start: its stage.completed may notify
        await self._notify(
            context,
            event.execution_id,
            event.stage_id,
            lambda stage: stage_started_whens(event.stage_type, event.status),
        )

    async def stage_completed(self, event: StageCompleted, context: MessageContext) -> None:
        if event.stage_type != "manualJudgment" and not stage_completed_whens(event.stage_type, event.status, {}):
            return  # skipped or canceled: only a judgment (read from the stage's context) could notify
        await self._notify(
            context,
            event.execution_id,
            event.stage_id,
            lambda stage: stage_completed_whens(event.stage_type, event.status, (stage or {}).get("context") or {}),
        )

    async def _notify(self, context: MessageContext, execution_id: str, stage_id: str | None, whens_of: Any) -> None:
        found = await context.ask(GetExecution(id=execution_id), timeout=self.query_timeout)
        assert isinstance(found, ExecutionFound)
        execution = found.execution
        if execution is None:
            log.info("no such execution any more; nothing to notify", execution_id=execution_id)
            return
        stage = None
        if stage_id is not None:
            stage = next((s for s in execution.get("stages") or [] if s.get("id") == stage_id), None)
            if stage is None:
                return
        whens: list[str] = whens_of(stage)
        if not whens:
            return
        preferences = await self._preferences(context, str(execution.get("application") or ""))
        for when in whens:
            for recipient in recipients(when, execution, stage, preferences):
                notification = render(
                    when, execution, stage, deck_base_url=self.settings.deck_base_url, custom_text=recipient.custom_text
                )
                await context.send(
                    DeliverNotification(
                        delivery_id=recipient.delivery_id(context.envelope.id),
                        channel=recipient.channel,
                        address=recipient.address,
                        notification=notification,
                    ),
                    to=self.service,
                )

    async def _preferences(self, context: MessageContext, application: str) -> Json | None:
        if not application:
            return None
        found = await context.ask(GetNotifications(application=application), timeout=self.query_timeout)
        assert isinstance(found, NotificationsFound)
        return found.notifications

    async def deliver(self, command: DeliverNotification, context: MessageContext) -> None:
        """Send one notification to one recipient, at most once per ``delivery_id``."""
        claim = await self.deliveries.claim(command.delivery_id)
        if claim == "sent":
            log.info("notification already sent", delivery_id=command.delivery_id)
            return
        if claim == "busy":
            raise DeliveryFailed(f"delivery {command.delivery_id} is being sent by another worker")
        try:
            key = idempotency.derive("echo.notification", command.delivery_id)
            await self.channels.get(command.channel).send(command.address, command.notification, idempotency_key=key)
        except BaseException:
            await self.deliveries.release(command.delivery_id)
            raise
        await self.deliveries.sent(command.delivery_id)
        notification = command.notification
        log.info("notification sent", channel=command.channel, when=notification.when, delivery_id=command.delivery_id)
        await context.publish(
            NotificationSent(
                delivery_id=command.delivery_id,
                channel=command.channel,
                address=command.address,
                when=notification.when,
                application=notification.application,
                execution_id=notification.execution_id,
            ),
            subject=notification.execution_id,
        )
