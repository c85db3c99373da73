"""What the ``local`` provider records in MongoDB: its server groups, instances and load balancers.

Processes are recorded around their start: an instance's document (id and port) is written
before it is spawned and its pid right after, so a Clouddriver that dies in between finds the
process by its id in ``/proc`` on restart. ``clouddriver_local_meta`` holds the owner token that
marks this store's processes.
"""

from __future__ import annotations

import secrets

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from schemas.json_types import Json

REGION = "local"
"""The local provider's one region (and zone)."""


def key(account: str, region: str, name: str) -> str:
    """The document id of a server group or load balancer."""
    return f"{account}|{region}|{name}"


class LocalStore:
    """The ``clouddriver_local_*`` collections."""

    def __init__(self, db: AsyncDatabase[Json]) -> None:
        self.server_groups = db["clouddriver_local_server_groups"]
        self.instances = db["clouddriver_local_instances"]
        self.load_balancers = db["clouddriver_local_load_balancers"]
        self.meta = db["clouddriver_local_meta"]
        self._owner: str | None = None

    async def owner(self) -> str:
        """The token every process of this store carries (made once, kept forever)."""
        if self._owner is None:
            document = await self.meta.find_one_and_update(
                {"_id": "owner"},
                {"$setOnInsert": {"token": secrets.token_hex(8)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            assert document is not None
            self._owner = str(document["token"])
            await self.instances.create_index([("server_group", ASCENDING)])
        return self._owner

    async def server_group(self, account: str, region: str, name: str) -> Json | None:
        """One server group's document."""
        return await self.server_groups.find_one({"_id": key(account, region, name)})

    async def account_server_groups(self, account: str) -> list[Json]:
        """Every server group of ``account``."""
        return [group async for group in self.server_groups.find({"account": account})]

    async def group_instances(self, group_key: str) -> list[Json]:
        """The instances of one server group, oldest first."""
        cursor = self.instances.find({"server_group": group_key}).sort([("launch_time", ASCENDING)])
        return [instance async for instance in cursor]

    async def all_instances(self) -> list[Json]:
        """Every recorded instance."""
        return [instance async for instance in self.instances.find({})]

    async def account_load_balancers(self, account: str) -> list[Json]:
        """Every load balancer of ``account``."""
        return [balancer async for balancer in self.load_balancers.find({"account": account})]
