"""``rollbackServerGroup`` (``rollbackType: EXPLICIT``): restore one server group, then disable another.

``rollbackContext {rollbackServerGroupName, restoreServerGroupName, targetHealthyRollbackPercentage}``:
the restore server group is scaled back up to the rolled-back one's capacity if it was scaled
down, enabled and waited on until healthy; only then is the rolled-back server group disabled,
so traffic always has somewhere healthy to go.
"""

from __future__ import annotations

from workers.clouddriver import stage_context
from workers.clouddriver.descriptions import ResizeServerGroup
from workers.clouddriver.operations.base import OperationRun, Outcome
from workers.clouddriver.operations.server_groups import disable, enable, outcome
from workers.clouddriver.provider import OperationFailed


async def rollback_server_group(op: OperationRun) -> Outcome:
    """Spinnaker's explicit rollback."""
    rollback_type = stage_context.text(op.context, "rollbackType", required=False) or "EXPLICIT"
    if rollback_type != "EXPLICIT":
        raise OperationFailed(f"rollbackType {rollback_type!r} is not supported; use 'EXPLICIT' with rollbackContext")
    rollback = op.context.get("rollbackContext")
    if not isinstance(rollback, dict):
        raise OperationFailed(
            "rollbackServerGroup needs 'rollbackContext' {rollbackServerGroupName, restoreServerGroupName}"
        )
    bad = stage_context.text(rollback, "rollbackServerGroupName")
    good = stage_context.text(rollback, "restoreServerGroupName")
    assert bad is not None and good is not None
    percent = stage_context.percentage(rollback, "targetHealthyRollbackPercentage") or 100
    account, provider = op.account()
    await op.change("server group", bad)
    await op.change("server group", good)
    region = op.regions(provider, account)[0]
    restore = await op.server_group(account, provider, region, good)
    rolled_back = await provider.server_group(account, region, bad)
    if rolled_back is not None and restore.capacity.desired < rolled_back.capacity.desired:
        await op.progress(f"scaling {good} back up to {rolled_back.capacity.model_dump()}")
        op.touched.add(account.name)
        description = ResizeServerGroup(
            account=account.name,
            region=region,
            server_group_name=good,
            capacity=op.bounded(account, provider, rolled_back.capacity),
        )
        await provider.resize_server_group(account, description, op.progress)
    await enable(op, account, provider, region, good, healthy_percent=percent)
    if rolled_back is not None:
        await disable(op, account, provider, region, bad)
    return outcome(account, [(region, good)], rollbackServerGroupName=bad, restoreServerGroupName=good)
