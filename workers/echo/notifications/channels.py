"""Echo's notification channels by ``type``, sharing one outbound HTTP client for the life of the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bus import Bus, PermanentError
from gennaker.outbound import OutboundClient
from schemas.echo_notifications import NotificationSettings
from workers.echo.notifications.channel import NotificationChannel
from workers.echo.notifications.email import EmailChannel
from workers.echo.notifications.googlechat import GoogleChatChannel
from workers.echo.notifications.slack import SlackChannel
from workers.echo.notifications.teams import TeamsChannel
from workers.echo.notifications.webhook import WebhookChannel

_MAKERS: dict[str, Callable[[NotificationSettings, OutboundClient], NotificationChannel]] = {
    "email": lambda settings, _client: EmailChannel(settings),
    "slack": SlackChannel,
    "microsoftteams": TeamsChannel,
    "googlechat": GoogleChatChannel,
    "webhook": WebhookChannel,
}
CHANNEL_TYPES = frozenset(_MAKERS)
"""The notification types Echo delivers (Front50 refuses others at save: :mod:`schemas.stage_types`)."""


class Channels:
    """Looks up the channel for a notification ``type``; the session opens on first use and closes
    when :meth:`close_on_stop` (one of Echo's background loops) is cancelled."""

    def __init__(self, settings: NotificationSettings, client: OutboundClient) -> None:
        self.settings = settings
        self.client = client
        self._channels: dict[str, NotificationChannel] = {}

    def get(self, kind: str) -> NotificationChannel:
        """The channel for ``kind``; ``PermanentError`` for a type Echo does not deliver."""
        if kind not in self._channels:
            if kind not in _MAKERS:
                raise PermanentError(f"notification type {kind!r} is not delivered by echo")
            self._channels.update({name: make(self.settings, self.client) for name, make in _MAKERS.items()})
        return self._channels[kind]

    async def close_on_stop(self, bus: Bus) -> None:
        """Wait until cancelled, then close the HTTP session."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.client.close()
