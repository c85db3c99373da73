"""The in-process twin of a notification channel, run beside the real ones by the contract suite.

It keeps every delivery it took, answers an address in :attr:`MemoryChannel.refused` with
``PermanentError`` (as a 404 webhook or an unknown Slack channel does) and, while
:attr:`MemoryChannel.outage` is set, raises :class:`DeliveryFailed` (as a 503 or a refused
connection does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bus import PermanentError
from schemas.echo_notifications import Notification
from workers.echo.notifications.channel import DeliveryFailed


@dataclass
class MemoryChannel:
    """A :class:`~workers.echo.notifications.channel.NotificationChannel` that records, for tests."""

    type: str = "memory"
    outage: bool = False
    refused: set[str] = field(default_factory=set)
    delivered: list[tuple[str, Notification, str]] = field(default_factory=list)
    """Every delivery taken: ``(address, notification, idempotency_key)``, in order."""

    async def send(self, address: str, notification: Notification, *, idempotency_key: str) -> None:
        """Record the delivery, or fail as a real channel would."""
        if address in self.refused:
            raise PermanentError(f"memory channel refuses {address!r}")
        if self.outage:
            raise DeliveryFailed("memory channel is in an outage")
        self.delivered.append((address, notification, idempotency_key))
