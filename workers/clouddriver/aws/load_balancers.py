"""Application load balancers: an ALB, its listeners and the target groups they forward to.

``upsertLoadBalancer`` makes the ALB look as described (Spinnaker's ``upsertAmazonLoadBalancerV2``):
target groups created or their health checks updated, the ALB created if missing, listeners
created or modified by port and listeners on other ports removed. Without ``targetGroups`` the
ALB gets one target group of its own name (HTTP:80, health check ``healthCheckPath`` or ``/``);
without listeners, one HTTP:80 listener forwarding to it. Classic listener JSON
(``externalPort``/``externalProtocol``) is accepted too.

A server group joins a load balancer by its Auto Scaling group being attached to the ALB's target
groups (see :func:`target_group_arns`). Deleting a load balancer detaches its target groups from
the server groups (which keep running) and deletes them with it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from schemas.json_types import Json
from workers.clouddriver.aws import network, tags
from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.aws.errors import error_code, is_not_found
from workers.clouddriver.descriptions import DeleteLoadBalancer, UpsertLoadBalancer
from workers.clouddriver.provider import OperationFailed, Progress

if TYPE_CHECKING:
    from types_aiobotocore_elbv2.literals import ProtocolEnumType
    from types_aiobotocore_elbv2.type_defs import (
        ActionTypeDef,
        ListenerTypeDef,
        LoadBalancerTypeDef,
        TagTypeDef,
        TargetGroupTypeDef,
    )

PROTOCOLS = ("HTTP", "HTTPS")


def _elb_tags(name: str) -> list[TagTypeDef]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.resource_tags(name).items())]


def _protocol(value: object, field: str) -> ProtocolEnumType:
    protocol = str(value or "HTTP").upper()
    if protocol not in PROTOCOLS:
        raise OperationFailed(f"{field}: an application load balancer speaks {' or '.join(PROTOCOLS)}, not {value!r}")
    return protocol  # type: ignore[return-value]


def _port(value: object, field: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise OperationFailed(f"{field}: a port number, not {value!r}")
    port = int(value)
    if not 1 <= port <= 65535:
        raise OperationFailed(f"{field}: a port from 1 to 65535, not {port}")
    return port


async def find(clients: RegionClients, name: str) -> LoadBalancerTypeDef | None:
    """The load balancer called ``name``, or ``None``."""
    try:
        found = (await clients.elbv2.describe_load_balancers(Names=[name])).get("LoadBalancers", [])
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    return found[0] if found else None


async def find_target_group(clients: RegionClients, name: str) -> TargetGroupTypeDef | None:
    """The target group called ``name``, or ``None``."""
    try:
        found = (await clients.elbv2.describe_target_groups(Names=[name])).get("TargetGroups", [])
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    return found[0] if found else None


async def listeners(clients: RegionClients, load_balancer_arn: str) -> list[ListenerTypeDef]:
    """Every listener of a load balancer."""
    found: list[ListenerTypeDef] = []
    paginator = clients.elbv2.get_paginator("describe_listeners")
    async for page in paginator.paginate(LoadBalancerArn=load_balancer_arn):
        found.extend(page.get("Listeners", []))
    return found


def forwarded_target_groups(listener: ListenerTypeDef) -> list[str]:
    """The target group ARNs a listener's default actions forward to."""
    arns: list[str] = []
    for action in listener.get("DefaultActions", []):
        if action.get("TargetGroupArn"):
            arns.append(action["TargetGroupArn"])
        for weighted in action.get("ForwardConfig", {}).get("TargetGroups", []):
            if weighted.get("TargetGroupArn"):
                arns.append(weighted["TargetGroupArn"])
    return list(dict.fromkeys(arns))


async def target_group_arns(
    clients: RegionClients, load_balancer_names: tuple[str, ...], target_group_names: tuple[str, ...]
) -> list[str]:
    """The target groups a server group joins: those behind each named ALB, and each named one."""
    arns: list[str] = []
    for name in load_balancer_names:
        balancer = await find(clients, name)
        if balancer is None:
            raise OperationFailed(f"loadBalancers: no load balancer {name!r} in {clients.region}")
        behind = [
            arn
            for listener in await listeners(clients, balancer["LoadBalancerArn"])
            for arn in forwarded_target_groups(listener)
        ]
        if not behind:
            raise OperationFailed(f"loadBalancers: {name!r} forwards to no target group; upsert it with a listener")
        arns.extend(behind)
    for name in target_group_names:
        group = await find_target_group(clients, name)
        if group is None:
            raise OperationFailed(f"targetGroups: no target group {name!r} in {clients.region}")
        arns.append(group["TargetGroupArn"])
    return list(dict.fromkeys(arns))


async def _ensure_target_group(clients: RegionClients, vpc: str, spec: Json, owner: str) -> str:
    name = str(spec.get("name") or "")
    if not name or len(name) > 32:
        raise OperationFailed(f"targetGroups: a name of 1 to 32 characters, not {name!r}")
    health = spec.get("healthCheck") if isinstance(spec.get("healthCheck"), dict) else {}
    assert isinstance(health, dict)
    path = str(spec.get("healthCheckPath") or health.get("path") or "/")
    protocol = _protocol(spec.get("protocol"), f"targetGroups[{name}].protocol")
    check: Json = {
        "HealthCheckProtocol": _protocol(
            spec.get("healthCheckProtocol") or protocol, f"targetGroups[{name}].healthCheckProtocol"
        ),
        "HealthCheckPort": str(spec.get("healthCheckPort") or "traffic-port"),
        "HealthCheckPath": path,
        "HealthCheckIntervalSeconds": int(spec.get("healthCheckInterval") or 10),
        "HealthCheckTimeoutSeconds": int(spec.get("healthCheckTimeout") or 5),
        "HealthyThresholdCount": int(spec.get("healthyThreshold") or 2),
        "UnhealthyThresholdCount": int(spec.get("unhealthyThreshold") or 2),
    }
    existing = await find_target_group(clients, name)
    if existing is None:
        created = await clients.elbv2.create_target_group(
            Name=name,
            Protocol=protocol,
            Port=_port(spec.get("port"), f"targetGroups[{name}].port", 80),
            VpcId=vpc,
            TargetType="instance",
            Tags=_elb_tags(owner),
            **check,
        )
        arn = created["TargetGroups"][0]["TargetGroupArn"]
    else:
        arn = existing["TargetGroupArn"]
        await clients.elbv2.modify_target_group(TargetGroupArn=arn, **check)
    attributes = spec.get("attributes") if isinstance(spec.get("attributes"), dict) else {}
    assert isinstance(attributes, dict)
    if attributes.get("deregistrationDelay") is not None:
        await clients.elbv2.modify_target_group_attributes(
            TargetGroupArn=arn,
            Attributes=[
                {"Key": "deregistration_delay.timeout_seconds", "Value": str(int(attributes["deregistrationDelay"]))}
            ],
        )
    return arn


def _target_group_specs(description: UpsertLoadBalancer) -> list[Json]:
    config = description.config
    given = config.get("targetGroups")
    if given is not None:
        if not isinstance(given, list) or not all(isinstance(spec, dict) for spec in given):
            raise OperationFailed("targetGroups: a list of {name, protocol, port, healthCheckPath…}")
        return list(given)
    check = config.get("healthCheck")
    return [
        {
            "name": description.name,
            "protocol": config.get("targetProtocol") or "HTTP",
            "port": config.get("targetPort") or config.get("instancePort") or 80,
            "healthCheckPath": config.get("healthCheckPath")
            or (check if isinstance(check, str) and check.startswith("/") else None),
            "attributes": config.get("attributes") if isinstance(config.get("attributes"), dict) else {},
        }
    ]


def _listener_specs(
    description: UpsertLoadBalancer, groups: dict[str, str]
) -> list[tuple[int, ProtocolEnumType, list[ActionTypeDef], Json]]:
    default_group = next(iter(groups))
    wanted = list(description.listeners) or [{"port": 80, "protocol": "HTTP"}]
    specs: list[tuple[int, ProtocolEnumType, list[ActionTypeDef], Json]] = []
    for index, listener in enumerate(wanted):
        field = f"listeners[{index}]"
        port = _port(listener.get("port", listener.get("externalPort")), f"{field}.port", 80)
        protocol = _protocol(listener.get("protocol") or listener.get("externalProtocol"), f"{field}.protocol")
        actions: list[ActionTypeDef] = []
        for action in listener.get("defaultActions") or [{"type": "forward", "targetGroupName": default_group}]:
            group = action.get("targetGroupName") or default_group
            if group not in groups:
                raise OperationFailed(f"{field}.defaultActions: target group {group!r} is not among {sorted(groups)}")
            actions.append({"Type": "forward", "TargetGroupArn": groups[group]})
        extra: Json = {}
        certificate = listener.get("sslCertificateId") or listener.get("certificateArn")
        if protocol == "HTTPS":
            if not certificate:
                raise OperationFailed(f"{field}: an HTTPS listener needs sslCertificateId")
            extra["Certificates"] = [{"CertificateArn": str(certificate)}]
        specs.append((port, protocol, actions, extra))
    ports = [port for port, *_ in specs]
    if len(set(ports)) != len(ports):
        raise OperationFailed(f"listeners: each port once, got {ports}")
    return specs


async def upsert(
    clients: RegionClients, configured_vpc: str | None, description: UpsertLoadBalancer, progress: Progress
) -> Json:
    """Make the ALB, its target groups and listeners look as described; Spinnaker's result JSON."""
    config = description.config
    vpc = await network.vpc_id(clients, config.get("vpcId") or configured_vpc)
    zones_by_region = config.get("availabilityZones") if isinstance(config.get("availabilityZones"), dict) else {}
    assert isinstance(zones_by_region, dict)
    subnet_ids = list((await network.subnets(clients, vpc, zones_by_region.get(description.region) or ())).values())
    group_ids = await network.security_group_ids(clients, vpc, config.get("securityGroups") or ())
    groups: dict[str, str] = {}
    for spec in _target_group_specs(description):
        groups[str(spec.get("name"))] = await _ensure_target_group(clients, vpc, spec, description.name)
    wanted_listeners = _listener_specs(description, groups)
    balancer = await find(clients, description.name)
    if balancer is None:
        await progress(f"creating load balancer {description.name} in {description.region}")
        created = await clients.elbv2.create_load_balancer(
            Name=description.name,
            Subnets=subnet_ids,
            SecurityGroups=group_ids,
            Scheme="internal" if config.get("isInternal") else "internet-facing",
            Type="application",
            Tags=_elb_tags(description.name),
        )
        balancer = created["LoadBalancers"][0]
    elif group_ids:
        await clients.elbv2.set_security_groups(LoadBalancerArn=balancer["LoadBalancerArn"], SecurityGroups=group_ids)
    arn = balancer["LoadBalancerArn"]
    existing = {listener.get("Port"): listener for listener in await listeners(clients, arn)}
    for port, protocol, actions, extra in wanted_listeners:
        if (current := existing.pop(port, None)) is None:
            await clients.elbv2.create_listener(
                LoadBalancerArn=arn, Port=port, Protocol=protocol, DefaultActions=actions, **extra
            )
        else:
            await clients.elbv2.modify_listener(
                ListenerArn=current["ListenerArn"], Port=port, Protocol=protocol, DefaultActions=actions, **extra
            )
    for stale in existing.values():
        await clients.elbv2.delete_listener(ListenerArn=stale["ListenerArn"])
    await progress(f"load balancer {description.name} is up in {description.region}: {balancer.get('DNSName')}")
    return {"loadBalancers": {description.region: {"name": description.name, "dnsName": balancer.get("DNSName")}}}


async def _groups_using(clients: RegionClients, arns: set[str]) -> dict[str, list[str]]:
    using: dict[str, list[str]] = {}
    paginator = clients.autoscaling.get_paginator("describe_auto_scaling_groups")
    async for page in paginator.paginate():
        for group in page.get("AutoScalingGroups", []):
            attached = sorted(arns & set(group.get("TargetGroupARNs", [])))
            if attached:
                using[group["AutoScalingGroupName"]] = attached
    return using


async def delete(
    clients: RegionClients, description: DeleteLoadBalancer, progress: Progress, *, timeout: float = 120.0
) -> None:
    """Delete the ALB and its target groups (detached from server groups first); a missing one is deleted."""
    balancer = await find(clients, description.name)
    if balancer is None:
        await progress(f"load balancer {description.name} is already gone from {description.region}")
        return
    arn = balancer["LoadBalancerArn"]
    group_arns = {group for listener in await listeners(clients, arn) for group in forwarded_target_groups(listener)}
    for server_group, attached in (await _groups_using(clients, group_arns)).items():
        await progress(f"detaching {server_group} from {description.name}")
        await clients.autoscaling.detach_load_balancer_target_groups(
            AutoScalingGroupName=server_group, TargetGroupARNs=attached
        )
    await clients.elbv2.delete_load_balancer(LoadBalancerArn=arn)
    deadline = time.monotonic() + timeout
    for group_arn in sorted(group_arns):
        while True:
            try:
                await clients.elbv2.delete_target_group(TargetGroupArn=group_arn)
                break
            except ClientError as error:
                if is_not_found(error):
                    break
                if error_code(error) != "ResourceInUse" or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(2.0)
    await progress(f"deleted load balancer {description.name} from {description.region}")
