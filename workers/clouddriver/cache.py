"""The infrastructure cache: every account's server groups, load balancers, images and server group managers.

Each resource is one document in ``clouddriver_cache`` holding Clouddriver's JSON for it
(``json``) beside the fields reads select by (``kind``, ``account``, ``region``,
``application``, ``cluster``, ``name``, ``instance_ids``) and a ``digest`` of that JSON. A
refresh describes one account through its provider and writes only what changed: the resources
whose digest differs, and a delete of those gone (so a reader never sees an account empty
mid-refresh, and a refresh of an unchanged account writes nothing). Refreshes run on a schedule,
on a Kubernetes watch and after every operation; reads never call a provider.

Reads are answered from memory (:mod:`workers.clouddriver.cache_view`), each resource's JSON
encoded once. MongoDB stays the copy all replicas share: every refresh that wrote something then
increments its account's *revision* (``clouddriver_cache_revisions``), and before a read each
replica compares the stored revisions with those its view holds, reloading an account another
replica changed (as Front50's read cache checks its revision). A replica's own writes move the
revision by exactly one, so it never reloads what it wrote itself.
"""

from __future__ import annotations

import asyncio
import re
import time

import structlog
from pymongo import ASCENDING, ReplaceOne, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from schemas.json_types import Json
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.cache_view import CacheView, Entry, digest_of
from workers.clouddriver.model import AccountSnapshot, ServerGroup
from workers.clouddriver.provider import Account, OperationFailed, ProviderRegistry

COLLECTION = "clouddriver_cache"
REVISIONS = "clouddriver_cache_revisions"
YIELD_EVERY = 200
"""Resources a refresh compares between two turns of the event loop."""
log = structlog.get_logger("gennaker.clouddriver.cache")


def documents(account: Account, provider: str, snapshot: AccountSnapshot) -> list[Json]:
    """The cache documents of one account's snapshot."""
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
                "json": data,
            }
        )
    for manager in snapshot.server_group_managers:
        data = manager.to_json(provider=provider)
        managed = [groups.get((manager.region, name)) for name in manager.server_groups]
        data["serverGroups"] = [_managed_summary(member) for member in managed if member is not None]
        found.append(
            {
                "_id": f"serverGroupManager|{account.name}|{manager.region}|{manager.name}",
                "kind": "serverGroupManager",
                "account": account.name,
                "region": manager.region,
                "application": manager.application,
                "cluster": manager.cluster,
                "name": manager.name,
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
                "json": image.to_json(provider=provider),
            }
        )
    return found


def _managed_summary(group: ServerGroup) -> Json:
    """A managed server group as its manager lists it (Clouddriver's ``ServerGroupSummary``), with
    whether it takes traffic (as the server group itself says)."""
    summary: Json = {
        "name": group.name,
        "account": group.account,
        "region": group.region,
        "moniker": group.resolved_moniker,
        "isDisabled": group.disabled,
    }
    if "namespace" in group.extra:
        summary["namespace"] = group.extra["namespace"]
    return summary


class InfrastructureCache:
    """Refreshes ``clouddriver_cache`` and answers reads from its view in memory."""

    def __init__(self, db: AsyncDatabase[Json], accounts: AccountCatalogue, providers: ProviderRegistry) -> None:
        self.collection = db[COLLECTION]
        self.revisions = db[REVISIONS]
        self.accounts = accounts
        self.providers = providers
        self.view = CacheView()
        self._locks: dict[str, asyncio.Lock] = {}
        self._sync_lock = asyncio.Lock()
        self._loaded = False
        self._indexed = False

    async def ensure_indexes(self) -> None:
        """The indexes reloads use (once per process)."""
        if self._indexed:
            return
        await self.collection.create_index([("account", ASCENDING)])
        self._indexed = True

    def cached_accounts(self) -> list[Account]:
        """The configured accounts a registered provider serves."""
        served = {provider.cloud_provider for provider in self.providers.all()}
        accounts = [Account.from_details(d, self.accounts.settings(str(d["name"]))) for d in self.accounts.all()]
        return [account for account in accounts if account.cloud_provider in served]

    async def sync(self) -> None:
        """Bring the view up to what MongoDB holds: the whole cache the first time, then each account
        whose stored revision moved since the view last saw it (another replica refreshed it)."""
        async with self._sync_lock:
            if not self._loaded:
                await self.ensure_indexes()
                stored = {str(doc["_id"]): int(doc["revision"]) async for doc in self.revisions.find({})}
                entries = [Entry.of(document) async for document in self.collection.find({})]
                self.view.put(entries)
                self.view.revisions.update(stored)
                self._loaded = True
                return
            async for doc in self.revisions.find({}):
                account, revision = str(doc["_id"]), int(doc["revision"])
                if self.view.revisions.get(account) != revision:
                    reloaded = [Entry.of(document) async for document in self.collection.find({"account": account})]
                    self.view.replace_account(account, reloaded)
                    self.view.revisions[account] = revision

    async def refresh(self, name: str) -> int:
        """Describe account ``name`` and store what changed in it; returns how many resources it holds."""
        details = self.accounts.get(name)
        if details is None:
            raise OperationFailed(f"account {name!r} is not configured")
        account = Account.from_details(details, self.accounts.settings(name))
        provider = self.providers.get(account.cloud_provider)
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            started = time.monotonic()
            snapshot = await provider.describe(account)
            await self.sync()
            seen: set[str] = set()
            changed: list[tuple[Entry, Json]] = []
            for number, document in enumerate(documents(account, provider.cloud_provider, snapshot)):
                seen.add(document["_id"])
                digest = digest_of(document["json"])
                if self.view.digest(document["_id"]) != digest:  # only what changed is redacted and encoded
                    changed.append((Entry.of(document, digest), document))
                if number % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)  # let reads through while a big account is compared
            gone = sorted(self.view.ids_of(name) - seen)
            if changed:
                await self.collection.bulk_write(
                    [
                        ReplaceOne({"_id": entry.id}, {**document, "digest": entry.digest}, upsert=True)
                        for entry, document in changed
                    ],
                    ordered=False,
                )
            if gone:
                await self.collection.delete_many({"_id": {"$in": gone}})
            if changed or gone:
                await self._bump(name)
            self.view.put(entry for entry, _ in changed)
            self.view.remove(gone)
            log.debug(
                "cache refreshed",
                account=name,
                resources=len(seen),
                written=len(changed),
                deleted=len(gone),
                ms=(time.monotonic() - started) * 1e3,
            )
            return len(seen)

    async def _bump(self, account: str) -> None:
        """Increment the account's stored revision; the view takes it unless another replica moved it too."""
        stored = await self.revisions.find_one_and_update(
            {"_id": account}, {"$inc": {"revision": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        revision = int(stored["revision"]) if stored else 0
        if self.view.revisions.get(account, 0) + 1 == revision:
            self.view.revisions[account] = revision
        else:
            self.view.revisions[account] = -1  # another replica wrote meanwhile: reload on the next read

    async def refresh_all(self) -> int:
        """Refresh every cached account; an account that fails is logged and keeps its last view."""
        total = 0
        for account in self.cached_accounts():
            try:
                total += await self.refresh(account.name)
            except Exception as error:
                log.warning("could not refresh an account's cache", account=account.name, error=repr(error))
        return total

    async def server_groups(
        self,
        application: str,
        *,
        account: str | None = None,
        cluster: str | None = None,
        region: str | None = None,
        name: str | None = None,
    ) -> list[Entry]:
        """Server groups of ``application``, narrowed by any of the other fields, sorted by name."""
        await self.sync()
        if account is not None and region is not None and name is not None:
            found = [entry for entry in self.view.at("serverGroup", account, region, name)]
            found = [entry for entry in found if entry.application == application]
        else:
            found = self.view.of_application("serverGroup", application)
        return [
            entry
            for entry in found
            if (account is None or entry.account == account)
            and (cluster is None or entry.cluster == cluster)
            and (region is None or entry.region == region)
            and (name is None or entry.name == name)
        ]

    async def server_group_managers(self, application: str) -> list[Entry]:
        """Server group managers of ``application`` (Kubernetes Deployments), each with its server groups."""
        await self.sync()
        return self.view.of_application("serverGroupManager", application)

    async def load_balancers(self, application: str) -> list[Entry]:
        """Load balancers of ``application``, each with its server groups and their instances."""
        await self.sync()
        return self.view.of_application("loadBalancer", application)

    async def instance(self, account: str, region: str, instance_id: str) -> list[Json]:
        """The instance ``instance_id`` (zero or one), with its server group, account and region."""
        await self.sync()
        for entry in self.view.with_instance(instance_id):
            if entry.kind != "serverGroup" or entry.account != account or entry.region != region:
                continue
            for instance in entry.data().get("instances", []):
                if instance.get("instanceId") == instance_id:
                    return [{**instance, "serverGroup": entry.name, "account": account, "region": region}]
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
    ) -> list[Entry]:
        """Images like ``/images/find``: newest first, name containing ``q`` (``*`` wildcards allowed)."""
        await self.sync()
        images = [
            entry
            for entry in self.view.of_kind("image")
            if (provider is None or entry.provider == provider)
            and (region is None or entry.region == region)
            and (account is None or entry.account == account)
        ]
        images.sort(key=lambda entry: entry.created_time, reverse=True)
        if q:
            pattern = re.compile(".*".join(map(re.escape, q.lower().strip("*").split("*"))))
            images = [entry for entry in images if pattern.search(entry.image_name.lower())]
        if tags:
            images = [entry for entry in images if all((k, v) in entry.tags for k, v in tags.items())]
        return images[:count] if count else images
