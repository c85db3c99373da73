"""What every cloud operation gets to work with, and the waiting they share.

An operation is ``async def run(op: OperationRun) -> Outcome``: it reads the stage context,
resolves the account and its provider, records each decision with :meth:`OperationRun.decide`
before acting on it (so a resumed run decides the same), calls the provider's atomic operations
and returns the stage outputs. It raises :class:`~workers.clouddriver.provider.OperationFailed`
for anything that makes it fail.

Every account it resolves with :meth:`OperationRun.account` is checked against the command's
authority (WRITE to change, READ to look: :mod:`workers.clouddriver.access`); every server group,
cluster or load balancer it changes must pass :meth:`OperationRun.change` first, and every
capacity it asks for :meth:`OperationRun.bounded`.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from schemas import idempotency
from schemas.authority import Permission
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask
from workers.clouddriver import stage_context
from workers.clouddriver.access import READ_ONLY_STAGE_TYPES, OperationAccess, may_read_account
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.artifacts import ArtifactFetcher
from workers.clouddriver.journal import entry_id
from workers.clouddriver.model import AccountSnapshot, Capacity, ServerGroup
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed, Progress, ProviderRegistry


@dataclass(frozen=True)
class Outcome:
    """A successful operation's stage outputs and the context to merge into the stage."""

    outputs: Json = field(default_factory=dict)
    context: Json = field(default_factory=dict)


@dataclass
class OperationRun:
    """One run of one operation: the command, its journal state, the accounts and providers."""

    command: RunExternalTask
    accounts: AccountCatalogue
    providers: ProviderRegistry
    progress: Progress
    state: Json
    """Decisions recorded by an earlier run of this attempt (empty on the first run)."""
    record: Callable[[Json], Awaitable[None]]
    checks: OperationAccess | None = None
    """The checks of the command's authority (:attr:`access`); by default ones that can ask
    Front50 nothing, so only an admin may touch an application's resources."""
    poll_seconds: float = 0.5
    artifacts: ArtifactFetcher | None = None
    """Fetches the ``http/file``, ``github/file`` and ``gitlab/file`` artifacts a stage names."""
    touched: set[str] = field(default_factory=set)
    """Accounts this run changed (their cache is refreshed afterwards)."""
    partial: Json = field(default_factory=dict)
    """What the stage should know even if the run fails later (e.g. the name of a server group
    created but never healthy, which a rollback must disable); merged into the stage's context."""

    @property
    def context(self) -> Json:
        """The stage context."""
        return self.command.context

    async def with_fetched_manifest(self) -> Json:
        """The stage context, its ``manifestArtifact`` fetched when it is an ``http/file``,
        ``github/file`` or ``gitlab/file`` one (then an ``embedded/base64`` one, as Clouddriver's
        artifact download hands the manifests on); else the context as it is."""
        artifact = self.context.get("manifestArtifact")
        if self.context.get("source") != "artifact" or not ArtifactFetcher.fetches(artifact):
            return self.context
        if self.artifacts is None:
            raise OperationFailed("this Clouddriver fetches no artifacts: manifestArtifact must be embedded/base64")
        assert isinstance(artifact, dict)
        body = await self.artifacts.fetch(artifact, self.command.authority, asked_by=self.command.task_id)
        embedded = {**artifact, "type": "embedded/base64", "reference": base64.b64encode(body).decode()}
        return {**self.context, "manifestArtifact": embedded}

    @property
    def access(self) -> OperationAccess:
        """What the command's authority may do (:mod:`workers.clouddriver.access`)."""
        if self.checks is None:
            self.checks = OperationAccess(authority=self.command.authority, application=self.command.application)
        return self.checks

    @property
    def changes(self) -> bool:
        """Whether this operation changes anything (else it only looks, and needs READ)."""
        return self.command.stage_type not in READ_ONLY_STAGE_TYPES

    def account(self, name: str | None = None, *, only_to_look: bool = False) -> tuple[Account, CloudProvider]:
        """The account (``credentials`` of the context by default) and the provider that serves it,
        once the command's authority may act in it: WRITE to change, READ to look (``only_to_look``)."""
        name = name or stage_context.account_name(self.context)
        details = self.accounts.get(name)
        if details is None:
            known = [a["name"] for a in self.accounts.all() if may_read_account(self.access.authority, a)]
            raise OperationFailed(f"account {name!r} is not configured; known: {known}")
        self.access.account(details, Permission.WRITE if self.changes and not only_to_look else Permission.READ)
        account = Account.from_details(details, self.accounts.settings(name))
        cloud = self.context.get("cloudProvider")
        if isinstance(cloud, str) and cloud and cloud != account.cloud_provider:
            raise OperationFailed(
                f"cloudProvider {cloud!r} does not match account {name!r}, which is {account.cloud_provider!r}"
            )
        return account, self.providers.get(account.cloud_provider)

    def regions(self, provider: CloudProvider, account: Account, context: Json | None = None) -> list[str]:
        """The regions the context names, or the provider's / account's default one."""
        default = provider.default_region or (account.regions[0] if len(account.regions) == 1 else None)
        return stage_context.regions(self.context if context is None else context, default)

    async def change(self, kind: str, name: str) -> None:
        """Refuse unless the pipeline may change the ``kind`` (server group, cluster, load balancer)
        called ``name``: it belongs to the pipeline's application, whose EXECUTE the authority holds."""
        await self.access.change(kind, name)

    async def look_at(self, kind: str, name: str) -> None:
        """Refuse unless the authority may READ the application owning ``kind`` ``name``."""
        await self.access.look_at(kind, name)

    def bounded(self, account: Account, provider: CloudProvider, capacity: Capacity) -> Capacity:
        """``capacity`` if no part of it exceeds the account's ``maxCapacity`` (else the provider's
        default); :class:`OperationFailed` naming the limit otherwise."""
        configured = account.details.get("maxCapacity")
        limit = configured if isinstance(configured, int) else provider.default_max_capacity
        largest = max(capacity.min, capacity.max, capacity.desired)
        if largest > limit:
            raise OperationFailed(
                f"capacity {capacity.model_dump()} asks for {largest} instances; account {account.name!r} allows at "
                f"most {limit} per server group (its maxCapacity setting)"
            )
        return capacity

    async def decide(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        """The decision ``key`` recorded by an earlier run, or ``make()`` recorded now (before use)."""
        if key not in self.state:
            value = await make()
            await self.record({key: value})
            self.state[key] = value
        return self.state[key]

    def client_token(self, step: str) -> str:
        """The token of this operation's cloud call ``step`` for APIs that take one (AWS ``ClientToken``):
        derived from the journalled operation (execution, stage, task, attempt) and the step, so a
        resumed or redelivered run makes the call again with the first run's token."""
        return idempotency.derive("clouddriver", entry_id(self.command), step)

    async def snapshot(self, account: Account, provider: CloudProvider) -> AccountSnapshot:
        """The account as it is now (from the cloud, not the cache: decisions need the truth)."""
        return await provider.describe(account)

    async def server_group(self, account: Account, provider: CloudProvider, region: str, name: str) -> ServerGroup:
        """The server group, or :class:`OperationFailed` naming it when it does not exist."""
        group = await provider.server_group(account, region, name)
        if group is None:
            raise OperationFailed(f"server group {name!r} not found in {account.name}/{region}")
        return group

    async def wait_until_up(
        self, account: Account, provider: CloudProvider, region: str, name: str, *, healthy: int, timeout: float
    ) -> ServerGroup:
        """Poll until ``healthy`` instances of the server group are ``Up`` (Orca's ``waitForUpInstances``)."""
        deadline = time.monotonic() + timeout
        last = -1
        while True:
            group = await self.server_group(account, provider, region, name)
            count = group.healthy_count()
            if count >= healthy:
                return group
            if count != last:
                await self.progress(f"{name}: {count} of {healthy} instances healthy")
                last = count
            if time.monotonic() >= deadline:
                raise OperationFailed(
                    f"server group {name!r} in {account.name}/{region}: {count} of {healthy} instances healthy "
                    f"after {timeout:g} s (waitForUpTimeoutSeconds); check its health check"
                )
            await asyncio.sleep(self.poll_seconds)

    def wait_timeout(self) -> float:
        """How long to wait for instances to come up: ``waitForUpTimeoutSeconds``, default 300."""
        return float(stage_context.integer(self.context, "waitForUpTimeoutSeconds", 300))


def summary(group: ServerGroup) -> Json:
    """A server group as Spinnaker's ``source`` / ``previousServerGroups`` entries describe one."""
    return {
        "account": group.account,
        "credentials": group.account,
        "region": group.region,
        "serverGroupName": group.name,
        "asgName": group.name,
        "disabled": group.disabled,
        "capacity": group.capacity.model_dump(),
        "createdTime": group.created_time,
        "instanceCount": len(group.instances),
    }
