"""Wires Clouddriver (cloud operations and the infrastructure cache) to the bus.

* Commands: ``orca.RunExternalTask`` for the stage types in
  :data:`schemas.clouddriver_operations.STAGE_TYPES`, run by :mod:`workers.clouddriver.runner`
  through the provider of the account's ``cloudProvider`` and answered with
  ``clouddriver.task.completed`` (plus ``clouddriver.task.heartbeat`` while they run).
* Queries: the accounts behind Gate's ``/credentials`` (from the ``accounts`` setting; ``gennaker
  up`` adds a ``local`` one) and the cache reads of :mod:`schemas.clouddriver_cache`.
* Events: ``orca.stage.completed``, which stops an operation Orca no longer waits for.
* Background: resuming operations a stopped Clouddriver left, refreshing every account's
  cache every ``REFRESH_SECONDS``, and a kubernetes account's as soon as its watch reports a change.

Every operation and every cache read is judged by the authority its message carries
(:mod:`workers.clouddriver.access`).

Providers are registered in :func:`provider_registry`, one line each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import structlog

from bus import Bus, Endpoint
from bus.service import Service, instance_id
from gennaker import __version__
from gennaker.outbound import OutboundClient
from gennaker.resources import WorkerResources
from schemas.clouddriver import AccountConfig, GetAccount, ListAccounts
from schemas.clouddriver_cache import (
    FindImages,
    FindServerGroups,
    GetConsoleOutput,
    GetInstance,
    GetManifest,
    ListClusters,
    ListLoadBalancers,
    ListServerGroupManagers,
    ListServerGroups,
    RefreshCache,
)
from schemas.orca_engine import RunExternalTask, StageCompleted
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.artifacts import ArtifactFetcher
from workers.clouddriver.aws import AwsProvider
from workers.clouddriver.cache import InfrastructureCache
from workers.clouddriver.console import ConsoleQueries
from workers.clouddriver.handlers import AccountQueries, CacheQueries
from workers.clouddriver.journal import OperationJournal
from workers.clouddriver.kubernetes.provider import KubernetesProvider
from workers.clouddriver.local.provider import LocalProvider
from workers.clouddriver.local.store import LocalStore
from workers.clouddriver.manifest_reads import ManifestQueries
from workers.clouddriver.provider import Account, ProviderRegistry
from workers.clouddriver.runner import OperationRunner

NAME = "clouddriver"
REFRESH_SECONDS = 15.0
log = structlog.get_logger("gennaker.clouddriver")


def provider_registry(resources: WorkerResources, *, work_dir: Path | None = None) -> ProviderRegistry:
    """Every cloud provider Clouddriver can serve accounts with, by ``cloudProvider``."""
    registry = ProviderRegistry()
    registry.register(LocalProvider(LocalStore(resources.db), work_dir or resources.settings.data_dir / "local"))
    registry.register(AwsProvider(resources.settings.accounts or ()))
    registry.register(KubernetesProvider())
    return registry


def _refresh_loop(cache: InfrastructureCache, seconds: float) -> Callable[[Bus], Awaitable[None]]:
    async def refresh(bus: Bus) -> None:
        while True:
            await cache.refresh_all()
            await asyncio.sleep(seconds)

    return refresh


def _watch_loop(
    cache: InfrastructureCache, registry: ProviderRegistry, debounce_seconds: float
) -> Callable[[Bus], Awaitable[None]]:
    """Refresh a kubernetes account's cache soon after its cluster says something changed (not only every
    ``refresh_seconds``): one watch per account, changes within ``debounce_seconds`` refreshing once."""

    async def follow(account: Account, provider: KubernetesProvider) -> None:
        dirty = asyncio.Event()

        async def changed() -> None:
            dirty.set()

        async def refresh() -> None:
            while True:
                await dirty.wait()
                await asyncio.sleep(debounce_seconds)
                dirty.clear()
                try:
                    await cache.refresh(account.name)
                except Exception as error:
                    log.warning("could not refresh a watched account", account=account.name, error=repr(error))

        await asyncio.gather(provider.watch_changes(account, changed), refresh())

    async def watch(bus: Bus) -> None:
        watched = [
            follow(account, provider)
            for account in cache.cached_accounts()
            if isinstance(provider := registry.get(account.cloud_provider), KubernetesProvider)
        ]
        await asyncio.gather(*watched)

    return watch


def _reconcile_loop(runner: OperationRunner, providers: ProviderRegistry) -> Callable[[Bus], Awaitable[None]]:
    async def reconcile(bus: Bus) -> None:
        try:
            await runner.reconcile(bus)
        finally:
            await runner.stop()
            if runner.artifacts is not None:
                await runner.artifacts.close()
            for provider in providers.all():
                with contextlib.suppress(Exception):
                    await provider.close()

    return reconcile


def build_service(
    resources: WorkerResources,
    *,
    accounts: Iterable[AccountConfig | dict[str, Any]] | None = None,
    providers: ProviderRegistry | None = None,
    refresh_seconds: float = REFRESH_SECONDS,
    heartbeat_seconds: float = 2.0,
    lease_seconds: float = 15.0,
) -> Service:
    """Clouddriver's endpoints over ``accounts`` (default: the ``accounts`` setting); the host adds the ping."""
    configured = (resources.settings.accounts or ()) if accounts is None else accounts
    catalogue = AccountCatalogue(configured)
    registry = providers or provider_registry(resources)
    cache = InfrastructureCache(resources.db, catalogue, registry)
    execute_fallback = resources.settings.auth.execute_fallback
    artifacts = ArtifactFetcher(OutboundClient(resources.settings.outbound), resources.settings.artifacts)
    runner = OperationRunner(
        OperationJournal(resources.db, lease_seconds=lease_seconds),
        catalogue,
        registry,
        cache,
        owner=instance_id(),
        heartbeat_seconds=heartbeat_seconds,
        execute_fallback=execute_fallback,
        front50_timeout=resources.settings.query_timeout,
        artifacts=artifacts,
    )
    accounts_queries = AccountQueries(catalogue)
    console = ConsoleQueries(
        catalogue, registry, execute_fallback=execute_fallback, front50_timeout=resources.settings.query_timeout
    )
    manifest_queries = ManifestQueries(
        catalogue, registry, execute_fallback=execute_fallback, front50_timeout=resources.settings.query_timeout
    )
    cache_queries = CacheQueries(
        cache, catalogue, execute_fallback=execute_fallback, front50_timeout=resources.settings.query_timeout
    )
    queries = Endpoint(
        service=NAME,
        kind="queries",
        handlers={
            ListAccounts.message_type: accounts_queries.list_accounts,
            GetAccount.message_type: accounts_queries.get_account,
            ListServerGroups.message_type: cache_queries.server_groups,
            ListClusters.message_type: cache_queries.cluster_names,
            FindServerGroups.message_type: cache_queries.find_server_groups,
            ListLoadBalancers.message_type: cache_queries.load_balancers,
            ListServerGroupManagers.message_type: cache_queries.server_group_managers,
            GetInstance.message_type: cache_queries.instance,
            GetConsoleOutput.message_type: console.console_output,
            GetManifest.message_type: manifest_queries.manifest,
            FindImages.message_type: cache_queries.images,
            RefreshCache.message_type: cache_queries.refresh,
        },
    )
    commands = Endpoint(service=NAME, kind="commands", handlers={RunExternalTask.message_type: runner.handle})
    events = Endpoint(
        service=NAME,
        kind="events",
        patterns=(StageCompleted.message_type,),
        handlers={StageCompleted.message_type: runner.stage_completed},
    )
    return Service(
        name=NAME,
        version=__version__,
        endpoints=[commands, events, queries],
        background=[
            _reconcile_loop(runner, registry),
            _refresh_loop(cache, refresh_seconds),
            _watch_loop(cache, registry, debounce_seconds=0.5),
        ],
    )
