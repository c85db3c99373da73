"""Operations on one existing server group: resize, enable, disable, destroy, terminate instances.

Each takes Spinnaker's stage context (``serverGroupName`` or a dynamic ``target`` with ``cluster``,
``credentials``, ``region`` / ``regions``) and answers ``serverGroupName``, ``region`` and
``deploy.server.groups`` ``{region: [name]}``.

``resizeServerGroup`` follows Orca's resize actions: ``scale_exact`` (``capacity``, default),
``scale_to_server_group`` (``source``'s capacity), ``scale_up`` / ``scale_down`` (by ``scaleNum``
instances or ``scalePct`` percent), with ``scalePct`` / ``targetPercentage`` also scaling an
exact or source capacity (rolling red/black's "grow to p%"), and ``pinCapacity`` /
``pinMinimumCapacity`` / ``unpinMinimumCapacity``. ``enableServerGroup`` and
``disableServerGroup`` take ``desiredPercentage`` (or ``targetPercentage``).
"""

from __future__ import annotations

import math
from typing import Any

from schemas.json_types import Json
from workers.clouddriver import stage_context
from workers.clouddriver.descriptions import (
    DestroyServerGroup,
    DisableServerGroup,
    EnableServerGroup,
    ResizeServerGroup,
    TerminateInstances,
)
from workers.clouddriver.model import Capacity, ServerGroup
from workers.clouddriver.operations.base import OperationRun, Outcome
from workers.clouddriver.operations.targets import server_groups
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed


def outcome(account: Account, targets: list[tuple[str, str]], **extra: Any) -> Outcome:
    """The outputs every single-server-group operation answers with."""
    region, name = targets[0]
    outputs: Json = {
        "serverGroupName": name,
        "asgName": name,
        "region": region,
        "deploy.account.name": account.name,
        "deploy.server.groups": {r: [n] for r, n in targets},
        **extra,
    }
    return Outcome(outputs=outputs, context=dict(outputs))


async def resize_server_group(op: OperationRun) -> Outcome:
    """Set a server group's capacity and wait until its instances match it."""
    account, provider = op.account()
    targets = await server_groups(op, account, provider)
    capacities: Json = {}
    for region, name in targets:

        async def target_capacity(region: str = region, name: str = name) -> Json:
            group = await op.server_group(account, provider, region, name)
            return (await _resized(op, account, provider, group)).model_dump()

        capacity = op.bounded(
            account, provider, Capacity.model_validate(await op.decide(f"capacity:{region}", target_capacity))
        )
        await op.progress(f"resizing {name} in {account.name}/{region} to {capacity.model_dump()}")
        op.touched.add(account.name)
        await provider.resize_server_group(
            account,
            ResizeServerGroup(account=account.name, region=region, server_group_name=name, capacity=capacity),
            op.progress,
        )
        if capacity.desired:
            group = await op.server_group(account, provider, region, name)
            needed = capacity.desired if not group.disabled else 0
            percent = stage_context.percentage(op.context, "targetHealthyDeployPercentage") or 100
            needed = math.ceil(needed * percent / 100)
            if needed:
                await op.wait_until_up(account, provider, region, name, healthy=needed, timeout=op.wait_timeout())
        capacities[region] = capacity.model_dump()
    return outcome(account, targets, capacity=capacities[targets[0][0]])


async def _resized(op: OperationRun, account: Account, provider: CloudProvider, group: ServerGroup) -> Capacity:
    context = op.context
    action = stage_context.text(context, "action", required=False) or "scale_exact"
    percent = stage_context.percentage(context, "scalePct", "targetPercentage")
    current = group.capacity
    if action == "scale_to_server_group":
        source = context.get("source")
        if not isinstance(source, dict):
            raise OperationFailed("action 'scale_to_server_group' needs 'source' {region, serverGroupName}")
        source_account, source_provider = op.account(
            stage_context.text(source, "credentials", "account", required=False) or account.name, only_to_look=True
        )
        await op.look_at("server group", stage_context.server_group_name(source))
        base = (
            await op.server_group(
                source_account,
                source_provider,
                stage_context.regions(source, group.region)[0],
                stage_context.server_group_name(source),
            )
        ).capacity
    elif action == "scale_exact":
        base = stage_context.capacity(context, default=current)
    elif action in ("scale_up", "scale_down"):
        step = (
            math.ceil(current.desired * percent / 100)
            if percent is not None
            else stage_context.integer(context, "scaleNum", 0)
        )
        desired = current.desired + step if action == "scale_up" else max(0, current.desired - step)
        base = Capacity(min=min(current.min, desired), max=max(current.max, desired), desired=desired)
        percent = None
    else:
        raise OperationFailed(
            f"action {action!r} is not supported; use scale_exact, scale_to_server_group, scale_up or scale_down"
        )
    desired = base.desired if percent is None else math.ceil(base.desired * percent / 100)
    minimum = min(base.min, desired)
    maximum = max(base.max, desired)
    if stage_context.flag(context, "pinCapacity", False):
        minimum = maximum = desired
    elif stage_context.flag(context, "pinMinimumCapacity", False):
        minimum = desired
    elif stage_context.flag(context, "unpinMinimumCapacity", False):
        minimum = min(base.min, desired)
    return Capacity(min=minimum, max=maximum, desired=desired)


async def enable_server_group(op: OperationRun) -> Outcome:
    """Put a server group into rotation and wait until its instances are healthy there."""
    account, provider = op.account()
    targets = await server_groups(op, account, provider)
    percent = stage_context.percentage(op.context, "desiredPercentage", "targetPercentage") or 100
    for region, name in targets:
        await enable(op, account, provider, region, name, percent)
    return outcome(account, targets)


async def enable(
    op: OperationRun,
    account: Account,
    provider: CloudProvider,
    region: str,
    name: str,
    percent: int = 100,
    *,
    healthy_percent: int = 100,
) -> ServerGroup:
    """Enable ``percent`` of ``name``'s instances; wait until ``healthy_percent`` of those are healthy."""
    await op.progress(f"enabling {name} in {account.name}/{region}")
    op.touched.add(account.name)
    description = EnableServerGroup(
        account=account.name, region=region, server_group_name=name, desired_percentage=percent
    )
    await provider.enable_server_group(account, description, op.progress)
    group = await op.server_group(account, provider, region, name)
    needed = math.ceil(math.ceil(group.capacity.desired * percent / 100) * healthy_percent / 100)
    return await op.wait_until_up(account, provider, region, name, healthy=needed, timeout=op.wait_timeout())


async def disable_server_group(op: OperationRun) -> Outcome:
    """Take a server group out of rotation once requests in flight to it drained."""
    account, provider = op.account()
    targets = await server_groups(op, account, provider)
    percent = stage_context.percentage(op.context, "desiredPercentage", "targetPercentage") or 100
    for region, name in targets:
        await disable(op, account, provider, region, name, percent)
    return outcome(account, targets)


async def disable(
    op: OperationRun, account: Account, provider: CloudProvider, region: str, name: str, percent: int = 100
) -> None:
    """Disable ``percent`` of ``name``'s instances (all by default)."""
    await op.progress(f"disabling {name} in {account.name}/{region}")
    op.touched.add(account.name)
    description = DisableServerGroup(
        account=account.name, region=region, server_group_name=name, desired_percentage=percent
    )
    await provider.disable_server_group(account, description, op.progress)


async def destroy_server_group(op: OperationRun) -> Outcome:
    """Stop a server group's instances and remove it (a missing one counts as destroyed)."""
    account, provider = op.account()
    targets = await server_groups(op, account, provider)
    for region, name in targets:
        await destroy(op, account, provider, region, name)
    return outcome(account, targets)


async def destroy(op: OperationRun, account: Account, provider: CloudProvider, region: str, name: str) -> None:
    """Destroy ``name``."""
    await op.progress(f"destroying {name} in {account.name}/{region}")
    op.touched.add(account.name)
    description = DestroyServerGroup(account=account.name, region=region, server_group_name=name)
    await provider.destroy_server_group(account, description, op.progress)


async def terminate_instances(op: OperationRun) -> Outcome:
    """Terminate ``instanceIds`` (or ``instances``) in ``region``."""
    account, provider = op.account()
    ids = op.context.get("instanceIds") or op.context.get("instances")
    if not isinstance(ids, list) or not ids or not all(isinstance(item, str) for item in ids):
        raise OperationFailed("terminateInstances needs 'instanceIds', a non-empty list of instance ids")
    region = op.regions(provider, account)[0]
    owner = stage_context.text(op.context, "serverGroupName", "asgName", required=False)
    if owner is not None:
        await op.change("server group", owner)
    ids = await _instances_of_the_application(op, account, provider, region, ids)
    if not ids:
        outputs: Json = {"terminatedInstanceIds": [], "region": region, "deploy.account.name": account.name}
        return Outcome(outputs=outputs, context=dict(outputs))
    await op.progress(f"terminating {len(ids)} instance(s) in {account.name}/{region}")
    op.touched.add(account.name)
    description = TerminateInstances(
        account=account.name, region=region, instance_ids=tuple(ids), server_group_name=owner
    )
    await provider.terminate_instances(account, description, op.progress)
    outputs = {"terminatedInstanceIds": ids, "region": region, "deploy.account.name": account.name}
    return Outcome(outputs=outputs, context=dict(outputs))


async def _instances_of_the_application(
    op: OperationRun, account: Account, provider: CloudProvider, region: str, ids: list[str]
) -> list[str]:
    """The ``ids`` that are instances of server groups the pipeline may change (refusing any of
    another application's); ids no server group holds any more are gone already and left out."""
    snapshot = await op.snapshot(account, provider)
    owners = {
        instance.id: group.name
        for group in snapshot.server_groups
        if group.region == region
        for instance in group.instances
    }
    for instance_id in ids:
        if instance_id in owners:
            await op.change("server group", owners[instance_id])
    gone = [instance_id for instance_id in ids if instance_id not in owners]
    if gone:
        await op.progress(f"no server group in {account.name}/{region} holds {gone}; already gone")
    return [instance_id for instance_id in ids if instance_id in owners]
