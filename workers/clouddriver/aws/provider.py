"""The ``aws`` cloud provider: Clouddriver's atomic operations on EC2 Auto Scaling and ELBv2.

One :class:`AwsProvider` serves every account whose ``cloudProvider`` is ``aws``. An account's
``aws`` settings (endpoint, keys, profile, VPC; :class:`schemas.clouddriver.AwsAccountSettings`)
come from the ``accounts`` setting given to the constructor, or from an ``aws`` key in the account's
details; without them botocore's default credential chain is used. Operations act in one of the
account's ``regions``; :meth:`AwsProvider.describe` reads all of them concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import structlog
from pydantic import ValidationError

from schemas.clouddriver import AccountConfig, AwsAccountSettings
from schemas.json_types import Json
from workers.clouddriver.aws import images, load_balancers, server_groups
from workers.clouddriver.aws.clients import AwsConnector, RegionClients
from workers.clouddriver.aws.describe import RegionView
from workers.clouddriver.descriptions import (
    CreateServerGroup,
    DeleteLoadBalancer,
    DestroyServerGroup,
    DisableServerGroup,
    EnableServerGroup,
    ResizeServerGroup,
    TerminateInstances,
    UpsertLoadBalancer,
)
from workers.clouddriver.model import AccountSnapshot, Image, ServerGroup
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed, Progress

log = structlog.get_logger(__name__)


class AwsProvider(CloudProvider):
    """Server groups as Auto Scaling groups, load balancers as ALBs, images as AMIs.

    Example::

        provider = AwsProvider(settings.accounts or [])
        registry.register(provider)
    """

    cloud_provider = "aws"

    def __init__(self, accounts: Iterable[AccountConfig | Json] = ()) -> None:
        self._settings: dict[str, AwsAccountSettings] = {
            account.name: account.aws
            for account in accounts
            if isinstance(account, AccountConfig) and account.cloud_provider == "aws" and account.aws is not None
        }
        self._connectors: dict[str, AwsConnector] = {}

    def settings(self, account: Account) -> AwsAccountSettings:
        """How to reach AWS for ``account``: configured settings, its details' ``aws`` key, or defaults."""
        if (configured := self._settings.get(account.name)) is not None:
            return configured
        try:
            return AwsAccountSettings.model_validate(account.details.get("aws") or {})
        except ValidationError as error:
            raise OperationFailed(f"account {account.name!r}: aws settings are invalid: {error}") from None

    async def clients(self, account: Account, region: str) -> RegionClients:
        """The clients for ``region`` of ``account``; :class:`OperationFailed` for a region it lacks."""
        if account.regions and region not in account.regions:
            raise OperationFailed(
                f"region: {region!r} is not a region of account {account.name!r} {list(account.regions)}"
            )
        connector = self._connectors.get(account.name)
        if connector is None:
            connector = self._connectors[account.name] = AwsConnector(self.settings(account))
        return await connector.region(region)

    async def close(self) -> None:
        """Close every account's clients."""
        connectors, self._connectors = list(self._connectors.values()), {}
        for connector in connectors:
            await connector.close()

    async def describe(self, account: Account) -> AccountSnapshot:
        """Every Auto Scaling group, ALB and own image in each of the account's regions."""

        async def region(name: str) -> tuple[list[ServerGroup], list[Any], list[Image]]:
            view = RegionView(await self.clients(account, name), account.name)
            (groups, balancers), found = await asyncio.gather(view.snapshot(), view.images())
            return groups, balancers, found

        parts = await asyncio.gather(*(region(name) for name in account.regions))
        return AccountSnapshot(
            server_groups=tuple(group for groups, _, _ in parts for group in groups),
            load_balancers=tuple(balancer for _, balancers, _ in parts for balancer in balancers),
            images=tuple(image for _, _, found in parts for image in found),
        )

    async def server_group(self, account: Account, region: str, name: str) -> ServerGroup | None:
        """One Auto Scaling group, read on its own (the core polls this while waiting for health)."""
        groups, _ = await RegionView(await self.clients(account, region), account.name).snapshot(name)
        return groups[0] if groups else None

    async def find_images(self, account: Account, query: str | None, tags: dict[str, str]) -> list[Image]:
        """The account's own AMIs whose name contains ``query`` and carry ``tags``, newest first per region."""

        async def region(name: str) -> list[Image]:
            found = await images.own_images(await self.clients(account, name), query, tags)
            return [images.to_model(image, account=account.name, region=name) for image in found]

        return [image for found in await asyncio.gather(*(region(name) for name in account.regions)) for image in found]

    async def create_server_group(
        self, account: Account, description: CreateServerGroup, progress: Progress
    ) -> ServerGroup:
        """Create (or adopt) the Auto Scaling group and its launch template."""
        clients = await self.clients(account, description.region)
        await server_groups.create(clients, self.settings(account).vpc_id, description, progress)
        log.info(
            "aws.server_group.created",
            account=account.name,
            region=description.region,
            name=description.server_group_name,
        )
        group = await self.server_group(account, description.region, description.server_group_name)
        if group is None:
            raise OperationFailed(f"server group {description.server_group_name!r} vanished right after its creation")
        return group

    async def resize_server_group(self, account: Account, description: ResizeServerGroup, progress: Progress) -> None:
        """Set the Auto Scaling group's min, max and desired capacity."""
        clients = await self.clients(account, description.region)
        await server_groups.resize(clients, description.server_group_name, description.capacity, progress)

    async def enable_server_group(self, account: Account, description: EnableServerGroup, progress: Progress) -> None:
        """Resume the disable processes and register the instances with the group's target groups."""
        clients = await self.clients(account, description.region)
        await server_groups.enable(clients, description.server_group_name, description.desired_percentage, progress)

    async def disable_server_group(self, account: Account, description: DisableServerGroup, progress: Progress) -> None:
        """Suspend the disable processes, deregister the instances and wait for them to drain."""
        clients = await self.clients(account, description.region)
        await server_groups.disable(clients, description.server_group_name, description.desired_percentage, progress)

    async def destroy_server_group(self, account: Account, description: DestroyServerGroup, progress: Progress) -> None:
        """Delete the Auto Scaling group, its instances and its launch template."""
        clients = await self.clients(account, description.region)
        await server_groups.destroy(clients, description.server_group_name, progress)
        log.info(
            "aws.server_group.destroyed",
            account=account.name,
            region=description.region,
            name=description.server_group_name,
        )

    async def terminate_instances(self, account: Account, description: TerminateInstances, progress: Progress) -> None:
        """Terminate the instances (their groups replace them)."""
        await server_groups.terminate(await self.clients(account, description.region), description, progress)

    async def upsert_load_balancer(self, account: Account, description: UpsertLoadBalancer, progress: Progress) -> Json:
        """Create or update the ALB, its target groups and listeners."""
        clients = await self.clients(account, description.region)
        return await load_balancers.upsert(clients, self.settings(account).vpc_id, description, progress)

    async def delete_load_balancer(self, account: Account, description: DeleteLoadBalancer, progress: Progress) -> None:
        """Delete the ALB and its target groups."""
        await load_balancers.delete(await self.clients(account, description.region), description, progress)
