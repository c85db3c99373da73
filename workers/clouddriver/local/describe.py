"""How ``local`` server groups, load balancers and artifacts read in Clouddriver's model, with live health.

An instance is ``Up`` only when it answers its health check *and* every balancer of its group has
seen it healthy; a server group's image is its ``imageName`` (or its command line).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from schemas.json_types import Json
from workers.clouddriver.local import processes
from workers.clouddriver.local.store import REGION, LocalStore
from workers.clouddriver.model import Capacity, HealthState, Image, Instance, LoadBalancer, ServerGroup

STARTING_GRACE_SECONDS = 60.0


async def instance_health(
    session: aiohttp.ClientSession, instance: Json, path: str, owner: str, balancers: list[dict[str, bool]]
) -> HealthState:
    """``Up`` when the instance answers its health check *and* every load balancer of its server
    group has seen it healthy (as an AWS instance is Up only once its target groups say so):
    a deploy that waits for Up never disables the old server group before the new one serves."""
    if instance.get("stopping"):
        return "Draining"
    if not processes.is_alive(instance.get("pid"), owner, instance["_id"]):
        return "Down"
    young = time.time() - instance["launch_time"] < STARTING_GRACE_SECONDS
    try:
        async with session.get(
            f"http://127.0.0.1:{instance['port']}{path}", timeout=aiohttp.ClientTimeout(total=2.0)
        ) as response:
            if not 200 <= response.status < 300:
                return "Down"
    except (aiohttp.ClientError, TimeoutError, OSError):
        return "Starting" if young else "Down"
    if all(seen.get(instance["_id"], False) for seen in balancers):
        return "Up"
    return "Starting" if young else "Down"


async def describe_group(
    store: LocalStore,
    session: aiohttp.ClientSession,
    group: Json,
    owner: str,
    health: dict[str, dict[str, bool]],
) -> ServerGroup:
    """The server group with live instance health; ``health`` is :meth:`Balancers.account_health` of
    its account (a load balancer since deleted has no say)."""
    instances = await store.group_instances(group["_id"])
    path = group["config"].get("healthCheckPath") or "/health"
    balancers = [health[name] for name in group.get("load_balancers", []) if name in health]
    states = await asyncio.gather(
        *(instance_health(session, instance, path, owner, balancers) for instance in instances)
    )
    described: list[Instance] = []
    for instance, state in zip(instances, states, strict=True):
        in_rotation = not group["disabled"] and instance["enabled"]
        described.append(
            Instance(
                id=instance["_id"],
                zone=REGION,
                health_state="OutOfService" if state == "Up" and not in_rotation else state,
                health_type="LocalHealthCheck",
                launch_time=int(instance["launch_time"] * 1000),
                extra={"port": instance["port"], "pid": instance.get("pid"), "privateIpAddress": "127.0.0.1"},
            )
        )
    config = group["config"]
    image_name = config.get("imageName") or " ".join(map(str, config.get("command") or []))
    return ServerGroup(
        name=group["name"],
        account=group["account"],
        region=REGION,
        zones=(REGION,),
        created_time=int(group["created_time"] * 1000),
        disabled=group["disabled"],
        capacity=Capacity.model_validate(group["capacity"]),
        instances=tuple(described),
        load_balancers=tuple(group.get("load_balancers", [])),
        image={"imageId": image_name, "name": image_name, "command": config.get("command")},
        launch_config=config,
        build_info={"env": config.get("env") or {}},
    )


def load_balancer(account: str, balancer: Json, groups: list[Json]) -> LoadBalancer:
    """A recorded balancer with the server groups (of ``groups``) that name it."""
    return LoadBalancer(
        name=balancer["name"],
        account=account,
        region=REGION,
        server_groups=tuple(g["name"] for g in groups if balancer["name"] in g.get("load_balancers", [])),
        listeners=({"loadBalancerPort": balancer["port"], "protocol": "HTTP"},),
        dns_name=f"127.0.0.1:{balancer['port']}",
        extra={"port": balancer["port"], "url": f"http://127.0.0.1:{balancer['port']}"},
    )


def images(account: str, groups: list[Json]) -> list[Image]:
    """One image per ``imageName`` the groups' configs give, as the first group giving it describes it."""
    found: dict[str, Image] = {}
    for group in groups:
        config = group["config"]
        name = config.get("imageName")
        if isinstance(name, str) and name not in found:
            tags = config.get("tags") if isinstance(config.get("tags"), dict) else {}
            found[name] = Image(
                image_id=name,
                name=name,
                region=REGION,
                account=account,
                tags={str(k): str(v) for k, v in (tags or {}).items()},
                created_time=int(group["created_time"] * 1000),
                extra={"command": config.get("command")},
            )
    return list(found.values())
