"""Microsoft Teams notifications: a MessageCard POSTed to the channel's incoming webhook (the address)."""

from __future__ import annotations

from typing import Any

from gennaker.outbound import OutboundClient
from schemas.echo_notifications import Notification, NotificationSettings
from workers.echo.notifications.channel import post_json

COLOURS = {"failed": "D9534F", "complete": "5CB85C", "starting": "0275D8"}


def message_card(notification: Notification) -> dict[str, Any]:
    """The legacy actionable MessageCard every Teams incoming webhook accepts."""
    colour = next((value for key, value in COLOURS.items() if key in notification.when), "F0AD4E")
    actions: list[dict[str, Any]] = [
        {"@type": "OpenUri", "name": "View execution", "targets": [{"os": "default", "uri": notification.link}]}
    ]
    if notification.judgment_link:
        actions.insert(
            0, {"@type": "OpenUri", "name": "Judge", "targets": [{"os": "default", "uri": notification.judgment_link}]}
        )
    text = notification.text + (f"\n\n{notification.custom_text}" if notification.custom_text else "")
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": notification.title,
        "themeColor": colour,
        "title": notification.title,
        "sections": [
            {
                "activityTitle": notification.execution_name,
                "activitySubtitle": notification.application,
                "text": text,
                "facts": [{"name": name, "value": value} for name, value in notification.facts.items()],
            }
        ],
        "potentialAction": actions,
    }


class TeamsChannel:
    """Posts a MessageCard to a Teams incoming webhook."""

    type = "microsoftteams"

    def __init__(self, settings: NotificationSettings, session: OutboundClient) -> None:
        self.settings = settings
        self.session = session

    async def send(self, address: str, notification: Notification, *, idempotency_key: str) -> None:
        await post_json(
            self.session,
            address,
            message_card(notification),
            timeout=self.settings.timeout,
            what="microsoft teams",
            idempotency_key=idempotency_key,
        )
