"""``createServerGroup`` and ``cloneServerGroup``: a new server group in a cluster, brought up healthy.

The new name is the cluster's next Frigga sequence, picked once and recorded with the cluster's
previous server groups before the provider is called; a redelivered or resumed create therefore
adopts the server group it started instead of making a second one. The stage then waits until
``targetHealthyDeployPercentage`` (default 100) of ``capacity.desired`` instances are healthy, at
most ``waitForUpTimeoutSeconds`` (default 300).

Outputs (Spinnaker's): ``deploy.server.groups`` ``{region: [name]}``, ``deploy.account.name``,
``serverGroupName`` / ``asgName`` / ``serverGroup``, ``source`` (the newest enabled server group
that was in the cluster, as strategies need it) and ``previousServerGroups`` (all of them, oldest
first, per region in ``previousServerGroupsByRegion``).
"""

from __future__ import annotations

import math

from schemas.json_types import Json
from workers.clouddriver import names, stage_context
from workers.clouddriver.descriptions import CreateServerGroup
from workers.clouddriver.model import Capacity
from workers.clouddriver.operations.base import OperationRun, Outcome, summary
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed


async def create_server_group(op: OperationRun) -> Outcome:
    """Spinnaker's ``createServerGroup`` from the stage's cluster config."""
    account, provider = op.account()
    return await deploy(op, account, provider, op.context)


async def clone_server_group(op: OperationRun) -> Outcome:
    """Spinnaker's ``cloneServerGroup``: ``source``'s configuration with the stage's keys over it."""
    source = op.context.get("source")
    if not isinstance(source, dict):
        raise OperationFailed("cloneServerGroup needs 'source' {account, region, serverGroupName}")
    account, provider = op.account(stage_context.account_name(source) if _has_account(source) else None)
    region = stage_context.regions(source)[0]
    name = stage_context.server_group_name(source)
    await op.change("server group", name)
    original = await op.server_group(account, provider, region, name)
    parsed = names.parse(name)
    config: Json = {
        "application": parsed.app,
        "stack": parsed.stack,
        "freeFormDetails": parsed.detail,
        "capacity": original.capacity.model_dump(),
        "loadBalancers": list(original.load_balancers),
        "targetGroups": list(original.target_groups),
        "securityGroups": list(original.security_groups),
        "region": region,
        **original.launch_config,
    }
    overrides = {key: value for key, value in op.context.items() if value is not None and key != "source"}
    config.update(overrides)
    if "availabilityZones" not in overrides and "region" not in overrides and "regions" not in overrides:
        config["region"] = region
    return await deploy(op, account, provider, config)


def _has_account(source: Json) -> bool:
    return any(isinstance(source.get(key), str) and source[key] for key in ("credentials", "account"))


async def deploy(op: OperationRun, account: Account, provider: CloudProvider, config: Json) -> Outcome:
    """Create the server group described by ``config`` in each of its regions and wait for it to be healthy."""
    application = stage_context.text(config, "application", required=False) or op.command.application
    stack = stage_context.text(config, "stack", required=False)
    detail = stage_context.text(config, "freeFormDetails", required=False)
    try:
        cluster = names.cluster_name(application, stack, detail)
    except ValueError as error:
        raise OperationFailed(str(error)) from None
    await op.change("cluster", cluster)
    load_balancers = stage_context.names_list(config, "loadBalancers")
    target_groups = stage_context.names_list(config, "targetGroups")
    await op.access.change_each("load balancer", load_balancers)
    await op.access.change_each("target group", target_groups)
    capacity = op.bounded(account, provider, stage_context.capacity(config, default=Capacity(min=1, max=1, desired=1)))
    healthy_percent = stage_context.percentage(config, "targetHealthyDeployPercentage") or 100
    deployed: dict[str, list[str]] = {}
    previous: dict[str, list[Json]] = {}
    for region in op.regions(provider, account, config):

        async def plan(region: str = region) -> Json:
            members = (await op.snapshot(account, provider)).cluster(cluster, region)
            sequence = names.next_sequence(group.name for group in members)
            return {
                "name": names.server_group_name(application, stack, detail, sequence),
                "previous": [summary(group) for group in members],
            }

        planned = await op.decide(f"create:{region}", plan)
        name = planned["name"]
        description = CreateServerGroup(
            account=account.name,
            region=region,
            application=application,
            stack=stack,
            free_form_details=detail,
            server_group_name=name,
            zones=stage_context.zones(config, region),
            capacity=capacity,
            load_balancers=load_balancers,
            target_groups=target_groups,
            security_groups=stage_context.names_list(config, "securityGroups"),
            image=stage_context.text(config, "amiName", "imageId", "image", required=False),
            disabled=stage_context.flag(config, "startDisabled", False),
            config=config,
            client_token=op.client_token(f"create:{region}"),
        )
        await op.progress(f"creating {name} in {account.name}/{region}")
        op.touched.add(account.name)
        await provider.create_server_group(account, description, op.progress)
        op.partial.update(
            _outputs(account, {**deployed, region: [name]}, {**previous, region: planned["previous"]}).outputs
        )
        needed = math.ceil(capacity.desired * healthy_percent / 100)
        if needed:
            await op.wait_until_up(account, provider, region, name, healthy=needed, timeout=op.wait_timeout())
        await op.progress(f"{name} is up in {account.name}/{region}")
        deployed[region] = [name]
        previous[region] = planned["previous"]
    return _outputs(account, deployed, previous)


def _outputs(account: Account, deployed: dict[str, list[str]], previous: dict[str, list[Json]]) -> Outcome:
    first_region = next(iter(deployed))
    name = deployed[first_region][0]
    earlier = previous[first_region]
    enabled = [group for group in earlier if not group["disabled"]]
    candidates = enabled or earlier
    source = candidates[-1] if candidates else None
    outputs: Json = {
        "deploy.server.groups": deployed,
        "deploy.account.name": account.name,
        "serverGroupName": name,
        "asgName": name,
        "serverGroup": name,
        "region": first_region,
        "previousServerGroups": [group for groups in previous.values() for group in groups],
        "previousServerGroupsByRegion": previous,
    }
    if source is not None:
        outputs["source"] = source
    return Outcome(outputs=outputs, context=dict(outputs))
