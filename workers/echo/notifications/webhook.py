"""Generic webhook notifications: the rendered notification POSTed as JSON to the address."""

from __future__ import annotations

from gennaker.outbound import OutboundClient
from schemas.echo_notifications import Notification, NotificationSettings
from workers.echo.notifications.channel import post_json


class WebhookChannel:
    """POSTs :class:`Notification` as JSON (``when``, ``title``, ``text``, ``link``, ``facts``…)."""

    type = "webhook"

    def __init__(self, settings: NotificationSettings, session: OutboundClient) -> None:
        self.settings = settings
        self.session = session

    async def send(self, address: str, notification: Notification, *, idempotency_key: str) -> None:
        payload = notification.model_dump(mode="json", exclude_none=True)
        timeout = self.settings.timeout
        await post_json(
            self.session, address, payload, timeout=timeout, what="webhook", idempotency_key=idempotency_key
        )
