"""The infrastructure cache: every account's server groups, load balancers and images in MongoDB.

Each resource is one document in ``clouddriver_cache`` holding Clouddriver's JSON for it
(``json``) beside the fields queries filter on (``kind``, ``account``, ``region``,
``application``, ``cluster``, ``name``, ``instance_ids``). A refresh describes one account through
its provider, upserts every resource with the refresh's ``generation`` and then deletes that
account's documents of older generations, so a reader never sees an account empty mid-refresh.
Refreshes run on a schedule and after every operation; reads never call a provider.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time

import structlog
from pymongo import ASCENDING, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from schemas.json_types import Json
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.model import AccountSnapshot
from workers.clouddriver.provider import Account, OperationFailed, ProviderRegistry

COLLECTION = "clouddriver_cache"
log = structlog.get_logger("gennaker.clouddriver.cache")


def documents(account: Account, provider: str, snapshot: AccountSnapshot, generation: str) -> list[Json]:
    """The cache documents of one account's snapshot, tagged with the refresh's ``generation``."""
    groups = {(group.region, group.name): group for group in snapshot.server_groups}
    found: list[Json] = []
    for group in snapshot.server_groups:
        found.append(
            {
                "_id": f"serverGroup|{account.name}|{group.region}|{group.name}",
                "kind": "serverGroup",
                "account": account.name,
                "region": group.region,
                "application": group.application,
                "cluster": group.cluster,
                "name": group.name,
                "instance_ids": [instance.id for instance in group.instances],
                "generation": generation,
                "json": group.to_json(provider=provider),
            }
        )
    for balancer in snapshot.load_balancers:
        data = balancer.to_json(provider=provider)
        members = [groups.get((balancer.region, name)) for name in balancer.server_groups]
        data["serverGroups"] = [
            {
                "name": member.name,
                "account": account.name,
                "region": member.region,
                "cloudProvider": provider,
                "isDisabled": member.disabled,
                "instances": [
                    {"id": i.id, "zone": i.zone, "health": {"state": i.health_state}, "name": i.id}
                    for i in member.instances
                ],
                "detachedInstances": [],
            }
            for member in members
            if member is not None
        ]
        found.append(
            {
                "_id": f"loadBalancer|{account.name}|{balancer.region}|{balancer.name}",
                "kind": "loadBalancer",
                "account": account.name,
                "region": balancer.region,
                "application": data["application"],
                "name": balancer.name,
                "generation": generation,
                "json": data,
            }
        )
    for image in snapshot.images:
        found.append(
            {
                "_id": f"image|{account.name}|{image.region}|{image.image_id}",
                "kind": "image",
                "account": account.name,
                "region": image.region,
                "provider": provider,
                "name": image.name,
                "created_time": image.created_time,
                "generation": generation,
                "json": image.to_json(provider=provider),
            }
        )
    return found


class InfrastructureCache:
    """Refreshes and reads ``clouddriver_cache``."""

    def __init__(self, db: AsyncDatabase[Json], accounts: AccountCatalogue, providers: ProviderRegistry) -> None:
        self.collection = db[COLLECTION]
        self.accounts = accounts
        self.providers = providers
        self._locks: dict[str, asyncio.Lock] = {}
        self._indexed = False

    async def ensure_indexes(self) -> None:
        """The indexes every query uses (once per process)."""
        if self._indexed:
            return
        await self.collection.create_index([("kind", ASCENDING), ("application", ASCENDING)])
        await self.collection.create_index([("kind", ASCENDING), ("account", ASCENDING), ("region", ASCENDING)])
        await self.collection.create_index([("instance_ids", ASCENDING)])
        await self.collection.create_index([("account", ASCENDING), ("generation", ASCENDING)])
        self._indexed = True

    def cached_accounts(self) -> list[Account]:
        """The configured accounts a registered provider serves."""
        served = {provider.cloud_provider for provider in self.providers.all()}
        accounts = [Account.from_details(d, self.accounts.settings(str(d["name"]))) for d in self.accounts.all()]
        return [account for account in accounts if account.cloud_provider in served]

    async def refresh(self, name: str) -> int:
        """Describe account ``name`` and store what it holds now; returns how many resources."""
        await self.ensure_indexes()
        details = self.accounts.get(name)
        if details is None:
            raise OperationFailed(f"account {name!r} is not configured")
        account = Account.from_details(details, self.accounts.settings(name))
        provider = self.providers.get(account.cloud_provider)
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            started = time.monotonic()
            snapshot = await provider.describe(account)
            generation = secrets.token_hex(8)
            stored = documents(account, provider.cloud_provider, snapshot, generation)
            if stored:
                await self.collection.bulk_write(
                    [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in stored], ordered=False
                )
            await self.collection.delete_many({"account": name, "generation": {"$ne": generation}})
            log.debug("cache refreshed", account=name, resources=len(stored), ms=(time.monotonic() - started) * 1e3)
            return len(stored)

    async def refresh_all(self) -> int:
        """Refresh every cached account; an account that fails is logged and keeps its last view."""
        total = 0
        for account in self.cached_accounts():
            try:
                total += await self.refresh(account.name)
            except Exception as error:
                log.warning("could not refresh an account's cache", account=account.name, error=repr(error))
        return total

    async def _find(self, query: Json, *, sort: list[tuple[str, int]] | None = None, limit: int = 0) -> list[Json]:
        await self.ensure_indexes()
        cursor = self.collection.find(query, {"json": 1, "_id": 0})
        if sort:
            cursor = cursor.sort(sort)
        if limit:
            cursor = cursor.limit(limit)
        return [document["json"] async for document in cursor]

    async def server_groups(
        self,
        application: str,
        *,
        account: str | None = None,
        cluster: str | None = None,
        region: str | None = None,
        name: str | None = None,
    ) -> list[Json]:
        """Server groups of ``application``, narrowed by any of the other fields, sorted by name."""
        query: Json = {"kind": "serverGroup", "application": application}
        for key, value in (("account", account), ("cluster", cluster), ("region", region), ("name", name)):
            if value is not None:
                query[key] = value
        return await self._find(query, sort=[("name", ASCENDING)])

    async def load_balancers(self, application: str) -> list[Json]:
        """Load balancers of ``application``, each with its server groups and their instances."""
        return await self._find({"kind": "loadBalancer", "application": application}, sort=[("name", ASCENDING)])

    async def instance(self, account: str, region: str, instance_id: str) -> list[Json]:
        """The instance ``instance_id`` (zero or one), with its server group, account and region."""
        groups = await self._find(
            {"kind": "serverGroup", "account": account, "region": region, "instance_ids": instance_id}, limit=1
        )
        for group in groups:
            for instance in group.get("instances", []):
                if instance.get("instanceId") == instance_id:
                    return [{**instance, "serverGroup": group["name"], "account": account, "region": region}]
        return []

    async def images(
        self,
        *,
        provider: str | None,
        q: str | None,
        region: str | None,
        account: str | None,
        tags: dict[str, str],
        count: int | None,
    ) -> list[Json]:
        """Images like ``/images/find``: newest first, name containing ``q`` (``*`` wildcards allowed)."""
        query: Json = {"kind": "image"}
        for key, value in (("provider", provider), ("region", region), ("account", account)):
            if value is not None:
                query[key] = value
        images = await self._find(query, sort=[("created_time", -1)])
        if q:
            pattern = re.compile(".*".join(map(re.escape, q.lower().strip("*").split("*"))))
            images = [image for image in images if pattern.search(str(image.get("imageName", "")).lower())]
        if tags:
            images = [image for image in images if all(image.get("tags", {}).get(k) == v for k, v in tags.items())]
        return images[:count] if count else images
