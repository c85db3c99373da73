"""``clusterSize``: how many server groups each cluster has per region, for Orca's cluster-size
preconditions (``checkPreconditions`` with ``type: clusterSize``).

Context: ``preconditions`` ``[{index, credentials, cluster, regions, onlyEnabledServerGroups}]``.
Outputs: ``clusterSizes`` ``[{index, cluster, region, size}]``. Clouddriver reports the facts, from
the provider's view of the account as it is now; Orca compares them with ``expected``.
"""

from __future__ import annotations

from schemas.json_types import Json
from workers.clouddriver import stage_context
from workers.clouddriver.operations.base import OperationRun, Outcome
from workers.clouddriver.provider import OperationFailed


async def cluster_size(op: OperationRun) -> Outcome:
    """The size of each asked cluster in each of its regions."""
    asked = op.context.get("preconditions")
    if not isinstance(asked, list) or not all(isinstance(item, dict) for item in asked):
        raise OperationFailed("clusterSize needs 'preconditions': a list of {credentials, cluster, regions}")
    sizes: list[Json] = []
    for item in asked:
        account, provider = op.account(stage_context.account_name(item))
        cluster = stage_context.text(item, "cluster")
        assert cluster is not None
        await op.look_at("cluster", cluster)
        only_enabled = stage_context.flag(item, "onlyEnabledServerGroups", False)
        snapshot = await op.snapshot(account, provider)
        for region in op.regions(provider, account, item):
            groups = [g for g in snapshot.cluster(cluster or "", region) if not (only_enabled and g.disabled)]
            sizes.append({"index": item.get("index"), "cluster": cluster, "region": region, "size": len(groups)})
    return Outcome(outputs={}, context={"clusterSizes": sizes})
