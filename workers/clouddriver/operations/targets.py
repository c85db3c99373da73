"""Which server group a stage means: named (``serverGroupName``) or relative to its cluster (``target``).

Orca's dynamic targets: ``current_asg_dynamic`` (the newest server group of the cluster),
``ancestor_asg_dynamic`` (the one before it), ``oldest_asg_dynamic``; the non-dynamic spellings
(``current_asg``…) mean the same here. The answer is recorded as a decision, so a resumed run acts
on the same server group even after the cluster changed.
"""

from __future__ import annotations

from schemas.json_types import Json
from workers.clouddriver import names, stage_context
from workers.clouddriver.model import ServerGroup
from workers.clouddriver.operations.base import OperationRun
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed

_INDEX = {
    "current_asg_dynamic": -1,
    "current_asg": -1,
    "ancestor_asg_dynamic": -2,
    "ancestor_asg": -2,
    "oldest_asg_dynamic": 0,
    "oldest_asg": 0,
}


def cluster_of(context: Json) -> str:
    """``cluster``, ``moniker.cluster``, or the cluster of ``serverGroupName``."""
    cluster = stage_context.text(context, "cluster", required=False)
    moniker = context.get("moniker")
    if cluster is None and isinstance(moniker, dict) and isinstance(moniker.get("cluster"), str):
        cluster = moniker["cluster"]
    if cluster is None:
        cluster = names.parse(stage_context.server_group_name(context)).cluster
    return cluster


async def server_groups(op: OperationRun, account: Account, provider: CloudProvider) -> list[tuple[str, str]]:
    """``(region, name)`` of the server group(s) the stage targets, one per region, recorded once."""

    async def resolve() -> list[list[str]]:
        regions = op.regions(provider, account)
        name = stage_context.text(op.context, "serverGroupName", "asgName", required=False)
        if name is not None:
            return [[region, name] for region in regions]
        target = stage_context.text(op.context, "target", required=False)
        if target not in _INDEX:
            raise OperationFailed(
                f"the stage context needs 'serverGroupName', or 'target' (one of {sorted(_INDEX)}) with 'cluster'"
            )
        snapshot = await op.snapshot(account, provider)
        cluster = cluster_of(op.context)
        found: list[list[str]] = []
        for region in regions:
            members = snapshot.cluster(cluster, region)
            index = _INDEX[target]
            if len(members) < (abs(index) if index < 0 else index + 1):
                raise OperationFailed(f"cluster {cluster!r} in {account.name}/{region} has no {target} server group")
            found.append([region, members[index].name])
        return found

    if stage_context.text(op.context, "serverGroupName", "asgName", required=False) is None:
        await op.change("cluster", cluster_of(op.context))
    pairs = await op.decide("targets", resolve)
    for _, name in pairs:
        await op.change("server group", name)
    return [(region, name) for region, name in pairs]


def newest_first(groups: list[ServerGroup], *, prefer_larger: bool) -> list[ServerGroup]:
    """Server groups newest first, or (``prefer_larger``) largest first with the newest breaking ties."""
    ordered = sorted(groups, key=lambda group: (group.created_time, group.name), reverse=True)
    if prefer_larger:
        ordered.sort(key=lambda group: len(group.instances), reverse=True)
    return ordered
