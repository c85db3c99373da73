"""Echo's record of notifications sent, so a redelivered event or command never notifies anyone twice.

Collection ``echo_notification_deliveries``: one document per delivery id (the causing event's id,
the ``when`` and the recipient). A delivery is claimed (``sending``) before its channel is called
and marked ``sent`` after; a claim older than ``lease_ms`` belongs to a worker that died mid-send
and may be taken over (that one case can notify twice: the channel cannot tell us whether the
dead worker's message went out).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

COLLECTION = "echo_notification_deliveries"
Claim = Literal["claimed", "sent", "busy"]


def _now_ms() -> int:
    return int(time.time() * 1000)


class DeliveryLog:
    """Claims and completes deliveries by id; safe for any number of Echo replicas."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, lease_ms: int = 60_000) -> None:
        self.collection = db[COLLECTION]
        self.lease_ms = lease_ms

    async def claim(self, delivery_id: str) -> Claim:
        """``claimed``: deliver it now; ``sent``: already done; ``busy``: another worker is on it."""
        now = _now_ms()
        try:
            await self.collection.insert_one({"_id": delivery_id, "state": "sending", "claimedAt": now})
            return "claimed"
        except DuplicateKeyError:
            pass
        found = await self.collection.find_one({"_id": delivery_id})
        if found is None:
            return await self.claim(delivery_id)
        if found.get("state") == "sent":
            return "sent"
        stale = await self.collection.find_one_and_update(
            {"_id": delivery_id, "state": "sending", "claimedAt": {"$lte": now - self.lease_ms}},
            {"$set": {"claimedAt": now}},
        )
        return "claimed" if stale is not None else "busy"

    async def sent(self, delivery_id: str) -> None:
        """The channel took it: no copy of this delivery will be sent again."""
        await self.collection.update_one({"_id": delivery_id}, {"$set": {"state": "sent", "sentAt": _now_ms()}})

    async def release(self, delivery_id: str) -> None:
        """The attempt failed: let the next attempt claim it at once."""
        await self.collection.delete_one({"_id": delivery_id, "state": "sending"})
