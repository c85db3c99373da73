"""Keyed webhook deliveries Echo remembers: a webhook sent again with the same ``Idempotency-Key``
is the same delivery.

The gateway derives a keyed webhook's ``event_id`` from the sender's key and hands Echo the key's
fingerprint (:class:`schemas.idempotency.ClientKey`). The first ``echo.HandleWebhook`` of an
``event_id`` records its fingerprint and ``received_at`` in ``echo_webhook_deliveries`` for 24 h (a
TTL index removes them afterwards); a later one with the same fingerprint is matched again with
the first ``received_at``, so it keys the pipelines it starts exactly as the first did and Orca
starts nothing twice; one with another fingerprint is refused. The gateway reads the record
(``echo.GetWebhookDelivery``) to answer a reused key with another body 422 at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from bus import MessageContext
from schemas.echo import GetWebhookDelivery, WebhookDelivery
from schemas.idempotency import WINDOW_MS

COLLECTION = "echo_webhook_deliveries"


@dataclass(frozen=True)
class FirstDelivery:
    """What the first delivery under a key came with."""

    fingerprint: str
    received_at: int


class WebhookDeliveries:
    """The ``echo_webhook_deliveries`` collection."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]
        self._indexed = False

    async def first(self, event_id: str, fingerprint: str, received_at: int) -> FirstDelivery:
        """The first delivery of ``event_id`` within the window: this one, recorded now, or an earlier one."""
        if not self._indexed:
            await self.collection.create_index("expiresAt", expireAfterSeconds=0)
            self._indexed = True
        now = datetime.now(UTC)
        record = {
            "_id": event_id,
            "fingerprint": fingerprint,
            "receivedAt": received_at,
            "expiresAt": now + timedelta(milliseconds=WINDOW_MS),
        }
        try:
            await self.collection.insert_one(record)
            return FirstDelivery(fingerprint, received_at)
        except DuplicateKeyError:
            pass
        expired = {"_id": event_id, "expiresAt": {"$lte": now}}  # not yet removed by the TTL monitor
        if await self.collection.find_one_and_replace(expired, record) is not None:
            return FirstDelivery(fingerprint, received_at)
        found = await self.collection.find_one({"_id": event_id})
        if found is None:
            return await self.first(event_id, fingerprint, received_at)
        return FirstDelivery(str(found["fingerprint"]), int(found["receivedAt"]))

    async def get_webhook_delivery(self, query: GetWebhookDelivery, context: MessageContext) -> WebhookDelivery:
        """``echo.GetWebhookDelivery``: the delivery remembered under ``event_id``, if any (and not expired)."""
        found = await self.collection.find_one({"_id": query.event_id, "expiresAt": {"$gt": datetime.now(UTC)}})
        if found is None:
            return WebhookDelivery()
        return WebhookDelivery(fingerprint=str(found["fingerprint"]), received_at=int(found["receivedAt"]))
