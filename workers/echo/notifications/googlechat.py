"""Google Chat notifications: a text message POSTed to the space's incoming webhook (the address)."""

from __future__ import annotations

from gennaker.outbound import OutboundClient
from schemas.echo_notifications import Notification, NotificationSettings
from workers.echo.notifications.channel import post_json


class GoogleChatChannel:
    """Posts ``{"text": ...}`` to a Google Chat webhook; Chat formats ``*bold*`` and ``<url|label>``."""

    type = "googlechat"

    def __init__(self, settings: NotificationSettings, session: OutboundClient) -> None:
        self.settings = settings
        self.session = session

    async def send(self, address: str, notification: Notification, *, idempotency_key: str) -> None:
        lines = [f"*{notification.title}*", notification.text]
        if notification.custom_text:
            lines.append(notification.custom_text)
        lines += [f"{name}: {value}" for name, value in notification.facts.items()]
        if notification.judgment_link:
            lines.append(f"<{notification.judgment_link}|Judge>")
        lines.append(f"<{notification.link}|View execution>")
        await post_json(
            self.session,
            address,
            {"text": "\n".join(lines)},
            timeout=self.settings.timeout,
            what="google chat",
            idempotency_key=idempotency_key,
        )
