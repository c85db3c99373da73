"""Cluster-wide operations, as Orca's ``AbstractClusterWideClouddriverTask`` does them, per region.

Server groups of the cluster (``cluster`` or ``moniker.cluster``) are ordered newest first (or
largest first with ``preferLargerOverNewer`` / ``retainLargerOverNewer``); the first N are kept:

* ``disableCluster``: keep ``remainingEnabledServerGroups`` (default 1) enabled, disable the rest;
* ``scaleDownCluster``: keep ``remainingFullSizeServerGroups`` (default 1) as they are, resize the
  rest to 0, leaving enabled ones alone unless ``allowScaleDownActive``;
* ``shrinkCluster``: keep ``shrinkToSize`` (default 1), destroy the rest, leaving enabled ones
  alone unless ``allowDeleteActive``.

``preservePreviousServerGroupsAfterScaleDown`` is accepted and, as it changes nothing here, ignored.
The server groups to act on are decided once and recorded, so a resumed run acts on the same ones.
Outputs: ``deploy.server.groups`` ``{region: [names acted on]}`` and ``deploy.account.name``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from schemas.json_types import Json
from workers.clouddriver import stage_context
from workers.clouddriver.descriptions import ResizeServerGroup
from workers.clouddriver.model import Capacity, ServerGroup
from workers.clouddriver.operations.base import OperationRun, Outcome
from workers.clouddriver.operations.server_groups import destroy, disable
from workers.clouddriver.operations.targets import cluster_of, newest_first
from workers.clouddriver.provider import Account, CloudProvider

Choose = Callable[[list[ServerGroup]], list[ServerGroup]]
Act = Callable[[OperationRun, Account, CloudProvider, str, str], Awaitable[None]]


async def _cluster_wide(op: OperationRun, choose: Choose, act: Act) -> Outcome:
    account, provider = op.account()
    cluster = cluster_of(op.context)
    await op.change("cluster", cluster)

    async def decide() -> Json:
        snapshot = await op.snapshot(account, provider)
        return {
            region: [group.name for group in choose(snapshot.cluster(cluster, region))]
            for region in op.regions(provider, account)
        }

    chosen: dict[str, list[str]] = await op.decide("cluster", decide)
    for region, group_names in chosen.items():
        for name in group_names:
            await act(op, account, provider, region, name)
    outputs: Json = {"deploy.server.groups": chosen, "deploy.account.name": account.name, "cluster": cluster}
    return Outcome(outputs=outputs, context=dict(outputs))


async def disable_cluster(op: OperationRun) -> Outcome:
    """Disable all but the first ``remainingEnabledServerGroups`` enabled server groups."""
    keep = stage_context.integer(op.context, "remainingEnabledServerGroups", 1)
    larger = stage_context.flag(op.context, "preferLargerOverNewer", False)

    def choose(groups: list[ServerGroup]) -> list[ServerGroup]:
        enabled = [group for group in newest_first(groups, prefer_larger=larger) if not group.disabled]
        return enabled[keep:]

    async def act(op: OperationRun, account: Account, provider: CloudProvider, region: str, name: str) -> None:
        await disable(op, account, provider, region, name)

    return await _cluster_wide(op, choose, act)


async def scale_down_cluster(op: OperationRun) -> Outcome:
    """Resize to 0 all but the first ``remainingFullSizeServerGroups`` server groups."""
    keep = stage_context.integer(op.context, "remainingFullSizeServerGroups", 1)
    larger = stage_context.flag(op.context, "preferLargerOverNewer", False)
    active = stage_context.flag(op.context, "allowScaleDownActive", False)

    def choose(groups: list[ServerGroup]) -> list[ServerGroup]:
        rest = newest_first(groups, prefer_larger=larger)[keep:]
        return [group for group in rest if (active or group.disabled) and group.capacity.desired > 0]

    async def act(op: OperationRun, account: Account, provider: CloudProvider, region: str, name: str) -> None:
        await op.progress(f"scaling {name} down to 0 in {account.name}/{region}")
        op.touched.add(account.name)
        description = ResizeServerGroup(
            account=account.name, region=region, server_group_name=name, capacity=Capacity(min=0, max=0, desired=0)
        )
        await provider.resize_server_group(account, description, op.progress)

    return await _cluster_wide(op, choose, act)


async def shrink_cluster(op: OperationRun) -> Outcome:
    """Destroy all but the first ``shrinkToSize`` server groups."""
    keep = stage_context.integer(op.context, "shrinkToSize", 1)
    larger = stage_context.flag(op.context, "retainLargerOverNewer", False)
    active = stage_context.flag(op.context, "allowDeleteActive", False)

    def choose(groups: list[ServerGroup]) -> list[ServerGroup]:
        rest = newest_first(groups, prefer_larger=larger)[keep:]
        return [group for group in rest if active or group.disabled]

    return await _cluster_wide(op, choose, destroy)
