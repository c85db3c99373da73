"""Clouddriver's query handlers: one per message, answering from the account catalogue or the cache.

A cache read answers only what the query's authority may see, whatever the gateway did first:
resources of accounts it may READ, of an application it may READ, and a server group's ``env``
(its launch configuration's and build info's) only where it may WRITE the account.
"""

from __future__ import annotations

import pydantic_core

from bus import EncodedReply, MessageContext
from schemas.authority import Authority, Permission, can
from schemas.base import Query, Reply
from schemas.clouddriver import AccountFound, AccountList, GetAccount, ListAccounts
from schemas.clouddriver_cache import (
    CachedResources,
    ClusterNames,
    FindImages,
    FindServerGroups,
    GetInstance,
    ListClusters,
    ListLoadBalancers,
    ListServerGroupManagers,
    ListServerGroups,
    RefreshCache,
)
from schemas.json_types import Json
from schemas.permissions import application_permissions
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.cache import InfrastructureCache
from workers.clouddriver.cache_view import Entry, joined, without_env
from workers.clouddriver.server_group_views import expanded


def _listed(entry: Entry, *, expand: bool, writable: bool) -> bytes:
    """A server group's JSON as a listing shows it to someone who may (or may not) WRITE its account."""
    if expand:
        return expanded(entry.json if writable else entry.shown, entry.expansion)
    return entry.summary if writable else entry.summary_shown


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
    """Answers the cache reads of :mod:`schemas.clouddriver_cache`, filtered by the query's authority."""

    def __init__(
        self,
        cache: InfrastructureCache,
        catalogue: AccountCatalogue,
        *,
        execute_fallback: Permission = Permission.READ,
        front50_timeout: float = 5.0,
    ) -> None:
        self.cache = cache
        self.catalogue = catalogue
        self.execute_fallback = execute_fallback
        self.front50_timeout = front50_timeout

    def _allowed(self, authority: Authority, resources: list[Json]) -> list[Json]:
        """The resources of accounts ``authority`` may READ; ``env`` left out where it may not WRITE."""
        shown: list[Json] = []
        for resource in resources:
            account = self.catalogue.get(str(resource.get("account")))
            permissions = account.get("permissions") if account else None
            if account is None or not can(authority, permissions, Permission.READ):
                continue
            shown.append(resource if can(authority, permissions, Permission.WRITE) else without_env(resource))
        return shown

    def _encoded(self, authority: Authority, entries: list[Entry], only: tuple[str, ...] | None = None) -> EncodedReply:
        """:meth:`_allowed` over cached entries (of accounts in ``only``, when given), answered as their
        JSON joined (nothing re-encoded)."""
        rights = dict(self._rights(authority, only))
        parts = [entry.json if rights[entry.account] else entry.shown for entry in entries if entry.account in rights]
        return EncodedReply.spliced(CachedResources, joined(parts))

    async def _may_read_application(self, authority: Authority, application: str, context: MessageContext) -> bool:
        if authority.admin:
            return True

        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=self.front50_timeout)

        permissions = await application_permissions(ask, application)
        return can(authority, permissions, Permission.READ, execute_fallback=self.execute_fallback)

    def _rights(self, authority: Authority, only: tuple[str, ...] | None) -> tuple[tuple[str, bool], ...]:
        """Each configured account ``authority`` may READ (and of those in ``only``, when given), with
        whether it may WRITE it: all a listing's content depends on besides the cache."""
        rights: list[tuple[str, bool]] = []
        wanted = set(only) if only is not None else None
        for account in self.catalogue.all():
            name = str(account["name"])
            permissions = account.get("permissions")
            if (wanted is None or name in wanted) and can(authority, permissions, Permission.READ):
                rights.append((name, can(authority, permissions, Permission.WRITE)))
        return tuple(sorted(rights))

    async def server_groups(self, query: ListServerGroups, context: MessageContext) -> CachedResources | EncodedReply:
        """Server groups of an application, narrowed by account, cluster, region, name, provider or
        clusters; summaries unless ``expand``. A whole application's listing is answered from
        :meth:`CacheView.answer <workers.clouddriver.cache_view.CacheView.answer>`, joined once."""
        if not await self._may_read_application(query.authority, query.application, context):
            return CachedResources(resources=[])
        rights = dict(self._rights(query.authority, query.accounts))
        provider = query.cloud_provider.lower() if query.cloud_provider else None
        clusters = {(c.account, c.cluster) for c in query.clusters} if query.clusters is not None else None

        def build(found: list[Entry]) -> bytes:
            parts = [
                _listed(entry, expand=query.expand, writable=rights[entry.account])
                for entry in found
                if entry.account in rights
                and (provider is None or entry.provider.lower() == provider)
                and (clusters is None or (entry.account, entry.cluster) in clusters)
            ]
            return joined(parts)

        if query.account is None and query.cluster is None and query.region is None and query.name is None:
            await self.cache.sync()
            key = (query.expand, tuple(rights.items()), provider, frozenset(clusters) if clusters is not None else None)
            body = self.cache.view.answer("serverGroup", query.application, key, build)
        else:
            found = await self.cache.server_groups(
                query.application, account=query.account, cluster=query.cluster, region=query.region, name=query.name
            )
            body = build(found)
        return EncodedReply.spliced(CachedResources, body)

    async def find_server_groups(self, query: FindServerGroups, context: MessageContext) -> EncodedReply:
        """Server group summaries by ``account:region:name``, each judged by its account and application."""
        rights = dict(self._rights(query.authority, query.accounts))
        provider = query.cloud_provider.lower() if query.cloud_provider else None
        await self.cache.sync()
        applications: dict[str, bool] = {}
        parts: list[bytes] = []
        for wanted in dict.fromkeys(query.ids):
            for entry in self.cache.view.at("serverGroup", wanted.account, wanted.region, wanted.name):
                if entry.account not in rights or (provider is not None and entry.provider.lower() != provider):
                    continue
                if entry.application not in applications:
                    may = await self._may_read_application(query.authority, entry.application, context)
                    applications[entry.application] = may
                if applications[entry.application]:
                    parts.append(_listed(entry, expand=False, writable=rights[entry.account]))
        return EncodedReply.spliced(CachedResources, joined(parts))

    async def cluster_names(self, query: ListClusters, context: MessageContext) -> ClusterNames | EncodedReply:
        """An application's cluster names by account, joined once per caller's rights until one of its
        server groups changes."""
        if not await self._may_read_application(query.authority, query.application, context):
            return ClusterNames(clusters={})
        rights = dict(self._rights(query.authority, query.accounts))

        def build(found: list[Entry]) -> bytes:
            names: dict[str, set[str]] = {}
            for entry in found:
                if entry.account in rights:
                    names.setdefault(entry.account, set()).add(entry.cluster)
            clusters = {account: sorted(names[account]) for account in sorted(names)}
            return pydantic_core.to_json({"clusters": clusters})

        await self.cache.sync()
        body = self.cache.view.answer("serverGroup", query.application, ("cluster names", tuple(rights)), build)
        return EncodedReply.spliced(ClusterNames, body)

    async def load_balancers(self, query: ListLoadBalancers, context: MessageContext) -> CachedResources | EncodedReply:
        """Load balancers of an application."""
        if not await self._may_read_application(query.authority, query.application, context):
            return CachedResources(resources=[])
        return self._encoded(query.authority, await self.cache.load_balancers(query.application), query.accounts)

    async def server_group_managers(
        self, query: ListServerGroupManagers, context: MessageContext
    ) -> CachedResources | EncodedReply:
        """Server group managers of an application (Kubernetes Deployments, each with its ReplicaSets)."""
        if not await self._may_read_application(query.authority, query.application, context):
            return CachedResources(resources=[])
        rights = tuple(account for account, _ in self._rights(query.authority, query.accounts))

        def build(found: list[Entry]) -> bytes:
            return joined(entry.json for entry in found if entry.account in rights)

        await self.cache.sync()
        body = self.cache.view.answer("serverGroupManager", query.application, ("managers", rights), build)
        return EncodedReply.spliced(CachedResources, body)

    async def instance(self, query: GetInstance, context: MessageContext) -> CachedResources:
        """One instance (or none)."""
        found = await self.cache.instance(query.account, query.region, query.instance_id)
        return CachedResources(resources=self._allowed(query.authority, found))

    async def images(self, query: FindImages, context: MessageContext) -> EncodedReply:
        """Images like ``/images/find``."""
        found = await self.cache.images(
            provider=query.provider,
            q=query.q,
            region=query.region,
            account=query.account,
            tags=query.tags,
            count=query.count,
        )
        return self._encoded(query.authority, found, query.accounts)

    async def refresh(self, query: RefreshCache, context: MessageContext) -> CachedResources:
        """Refresh one account (or all) now."""
        if query.account is None:
            await self.cache.refresh_all()
        else:
            await self.cache.refresh(query.account)
        return CachedResources(resources=[])
