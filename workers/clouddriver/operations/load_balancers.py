"""``upsertLoadBalancer`` and ``deleteLoadBalancer``.

The stage context is one load balancer description (``name`` / ``loadBalancerName``,
``credentials``, ``region`` / ``regions`` / ``availabilityZones``, ``listeners``, provider keys)
or, as Deck writes the stage, ``loadBalancers: [description, ...]``.
Outputs: ``loadBalancers`` ``{region: {name: result}}`` and ``targets`` (Spinnaker's list of
``{name, credentials, region}``).
"""

from __future__ import annotations

from schemas.json_types import Json
from workers.clouddriver import stage_context
from workers.clouddriver.descriptions import DeleteLoadBalancer, UpsertLoadBalancer
from workers.clouddriver.operations.base import OperationRun, Outcome
from workers.clouddriver.provider import OperationFailed


def _descriptions(context: Json) -> list[Json]:
    listed = context.get("loadBalancers")
    if isinstance(listed, list) and listed and all(isinstance(item, dict) for item in listed):
        return [{**{k: v for k, v in context.items() if k != "loadBalancers"}, **item} for item in listed]
    return [context]


def _listeners(config: Json) -> tuple[Json, ...]:
    listeners = config.get("listeners") or []
    if not isinstance(listeners, list) or not all(isinstance(item, dict) for item in listeners):
        raise OperationFailed(f"'listeners' must be a list of objects, got {listeners!r}")
    return tuple(listeners)


async def upsert_load_balancer(op: OperationRun) -> Outcome:
    """Create or update each described load balancer in each of its regions."""
    results: dict[str, Json] = {}
    targets: list[Json] = []
    for config in _descriptions(op.context):
        name = stage_context.text(config, "loadBalancerName", "name")
        assert name is not None
        account, provider = op.account(stage_context.account_name(config))
        await op.change("load balancer", name)
        for region in op.regions(provider, account, config):
            await op.progress(f"upserting load balancer {name} in {account.name}/{region}")
            op.touched.add(account.name)
            description = UpsertLoadBalancer(
                account=account.name, region=region, name=name, listeners=_listeners(config), config=config
            )
            result = await provider.upsert_load_balancer(account, description, op.progress)
            results.setdefault(region, {})[name] = result
            targets.append(
                {"name": name, "credentials": account.name, "region": region, "availabilityZones": {region: []}}
            )
    outputs: Json = {"loadBalancers": results, "targets": targets}
    return Outcome(outputs=outputs, context=dict(outputs))


async def delete_load_balancer(op: OperationRun) -> Outcome:
    """Delete the load balancer in each region (a missing one counts as deleted)."""
    name = stage_context.text(op.context, "loadBalancerName", "name")
    assert name is not None
    account, provider = op.account()
    await op.change("load balancer", name)
    regions = op.regions(provider, account)
    for region in regions:
        await op.progress(f"deleting load balancer {name} in {account.name}/{region}")
        op.touched.add(account.name)
        await provider.delete_load_balancer(
            account, DeleteLoadBalancer(account=account.name, region=region, name=name), op.progress
        )
    outputs: Json = {"loadBalancerName": name, "regions": regions, "deploy.account.name": account.name}
    return Outcome(outputs=outputs, context=dict(outputs))
