"""Clouddriver's query handlers: one per message, answering from the account catalogue or the cache."""

from __future__ import annotations

from bus import MessageContext
from schemas.clouddriver import AccountFound, AccountList, GetAccount, ListAccounts
from schemas.clouddriver_cache import (
    CachedResources,
    FindImages,
    GetInstance,
    ListLoadBalancers,
    ListServerGroups,
    RefreshCache,
)
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.cache import InfrastructureCache


class AccountQueries:
    """Answers ``clouddriver.ListAccounts`` and ``clouddriver.GetAccount``."""

    def __init__(self, catalogue: AccountCatalogue) -> None:
        self.catalogue = catalogue

    async def list_accounts(self, query: ListAccounts, context: MessageContext) -> AccountList:
        """Every account; the gateway filters by the caller's permissions."""
        return AccountList(accounts=self.catalogue.all())

    async def get_account(self, query: GetAccount, context: MessageContext) -> AccountFound:
        """One account by name, or ``None``."""
        return AccountFound(account=self.catalogue.get(query.name))


class CacheQueries:
    """Answers the cache reads of :mod:`schemas.clouddriver_cache`; the gateway filters by account."""

    def __init__(self, cache: InfrastructureCache) -> None:
        self.cache = cache

    async def server_groups(self, query: ListServerGroups, context: MessageContext) -> CachedResources:
        """Server groups of an application, narrowed by account, cluster, region or name."""
        found = await self.cache.server_groups(
            query.application, account=query.account, cluster=query.cluster, region=query.region, name=query.name
        )
        return CachedResources(resources=found)

    async def load_balancers(self, query: ListLoadBalancers, context: MessageContext) -> CachedResources:
        """Load balancers of an application."""
        return CachedResources(resources=await self.cache.load_balancers(query.application))

    async def instance(self, query: GetInstance, context: MessageContext) -> CachedResources:
        """One instance (or none)."""
        return CachedResources(resources=await self.cache.instance(query.account, query.region, query.instance_id))

    async def images(self, query: FindImages, context: MessageContext) -> CachedResources:
        """Images like ``/images/find``."""
        found = await self.cache.images(
            provider=query.provider,
            q=query.q,
            region=query.region,
            account=query.account,
            tags=query.tags,
            count=query.count,
        )
        return CachedResources(resources=found)

    async def refresh(self, query: RefreshCache, context: MessageContext) -> CachedResources:
        """Refresh one account (or all) now."""
        if query.account is None:
            await self.cache.refresh_all()
        else:
            await self.cache.refresh(query.account)
        return CachedResources(resources=[])
