"""What one region of an AWS account holds, in Spinnaker's model: server groups, load balancers, images.

Each Auto Scaling group becomes a :class:`~workers.clouddriver.model.ServerGroup` with its
instances (EC2 state, Auto Scaling health and target group health merged into one health state),
its launch template's settings and the ALBs whose target groups it is attached to. ``launchConfig``
holds the cluster-config keys a clone reuses (``imageId``, ``instanceType``, ``keyPair``,
``iamRole``, ``base64UserData``); Spinnaker's raw ``launchTemplate`` and ``asg`` JSON ride along.

Instance health: ``Up`` when the target groups it is registered with call it healthy (or, out of
rotation or with no target group, when EC2 runs it and Auto Scaling calls it healthy), ``Starting``
while pending or in the target group's initial checks, ``Draining`` while deregistering, ``Down``
otherwise. Each instance's ``health`` list has the ``Amazon`` platform entry and, when it has
target groups, a ``TargetGroup`` entry as Clouddriver reports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from schemas.json_types import Json
from workers.clouddriver.aws import images, launch_templates, load_balancers, rotation, tags
from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.model import Capacity, HealthState, Image, Instance, LoadBalancer, ServerGroup

if TYPE_CHECKING:
    from types_aiobotocore_autoscaling.type_defs import AutoScalingGroupTypeDef
    from types_aiobotocore_autoscaling.type_defs import InstanceTypeDef as AsgInstanceTypeDef
    from types_aiobotocore_ec2.type_defs import InstanceTypeDef, ResponseLaunchTemplateDataTypeDef
    from types_aiobotocore_elbv2.type_defs import ListenerTypeDef, LoadBalancerTypeDef, TargetGroupTypeDef

CONCURRENCY = 8
SEVERITY: list[HealthState] = ["Down", "Draining", "Starting", "OutOfService", "Unknown", "Up"]
TARGET_STATES: dict[str, HealthState] = {
    "healthy": "Up",
    "initial": "Starting",
    "unhealthy": "Down",
    "draining": "Draining",
    "unused": "OutOfService",
    "unavailable": "Unknown",
}


def _worst(states: Iterable[HealthState]) -> HealthState:
    """The state that says least for an instance: ``Down`` before ``Draining`` … before ``Up``."""
    return min(states, key=SEVERITY.index, default="Unknown")


def millis(moment: datetime | None) -> int:
    """Epoch milliseconds of an AWS timestamp (0 when absent)."""
    return int(moment.timestamp() * 1000) if moment else 0


async def _bounded[T](jobs: list[Callable[[], Awaitable[T]]]) -> list[T]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


class RegionView:
    """Reads everything in one region once and joins it into Spinnaker's resources."""

    def __init__(self, clients: RegionClients, account: str) -> None:
        self.clients = clients
        self.account = account
        self.region = clients.region

    async def groups(self, name: str | None = None) -> list[AutoScalingGroupTypeDef]:
        """Every Auto Scaling group (or just ``name``), skipping those being deleted."""
        found: list[AutoScalingGroupTypeDef] = []
        paginator = self.clients.autoscaling.get_paginator("describe_auto_scaling_groups")
        arguments = {"AutoScalingGroupNames": [name]} if name else {}
        async for page in paginator.paginate(**arguments):  # type: ignore[arg-type]
            found.extend(group for group in page.get("AutoScalingGroups", []) if not group.get("Status"))
        return found

    async def instances(self, ids: list[str]) -> dict[str, InstanceTypeDef]:
        """EC2's view of the instances ``ids``, by id."""
        found: dict[str, InstanceTypeDef] = {}
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            paginator = self.clients.ec2.get_paginator("describe_instances")
            async for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": chunk}]):
                for reservation in page.get("Reservations", []):
                    for instance in reservation.get("Instances", []):
                        found[instance["InstanceId"]] = instance
        return found

    async def target_groups(self) -> list[TargetGroupTypeDef]:
        """Every target group in the region."""
        found: list[TargetGroupTypeDef] = []
        paginator = self.clients.elbv2.get_paginator("describe_target_groups")
        async for page in paginator.paginate():
            found.extend(page.get("TargetGroups", []))
        return found

    async def target_health(self, arns: list[str]) -> dict[str, dict[str, str]]:
        """``{target group arn: {instance id: state}}``."""

        async def one(arn: str) -> dict[str, str]:
            answer = await self.clients.elbv2.describe_target_health(TargetGroupArn=arn)
            return {
                item["Target"]["Id"]: item.get("TargetHealth", {}).get("State", "unavailable")
                for item in answer.get("TargetHealthDescriptions", [])
            }

        results = await _bounded([lambda arn=arn: one(arn) for arn in arns])  # type: ignore[misc]
        return dict(zip(arns, results, strict=True))

    async def balancers(self) -> list[tuple[LoadBalancerTypeDef, list[ListenerTypeDef]]]:
        """Every application load balancer with its listeners."""
        found: list[LoadBalancerTypeDef] = []
        paginator = self.clients.elbv2.get_paginator("describe_load_balancers")
        async for page in paginator.paginate():
            found.extend(lb for lb in page.get("LoadBalancers", []) if lb.get("Type", "application") == "application")
        listeners = await _bounded(
            [lambda arn=lb["LoadBalancerArn"]: load_balancers.listeners(self.clients, arn) for lb in found]  # type: ignore[misc]
        )
        return list(zip(found, listeners, strict=True))

    async def templates(self, groups: list[AutoScalingGroupTypeDef]) -> dict[str, ResponseLaunchTemplateDataTypeDef]:
        """Each group's launch template data, by group name."""
        wanted = [(g["AutoScalingGroupName"], g["LaunchTemplate"]) for g in groups if g.get("LaunchTemplate")]

        async def one(spec: Json) -> ResponseLaunchTemplateDataTypeDef:
            template_id = spec.get("LaunchTemplateId")
            if not template_id:
                found = await launch_templates.find(self.clients, spec.get("LaunchTemplateName", ""))
                template_id = found["LaunchTemplateId"] if found else None
            if not template_id:
                return {}
            return await launch_templates.version_data(self.clients, template_id, spec.get("Version") or "$Default")

        results = await _bounded([lambda spec=spec: one(dict(spec)) for _, spec in wanted])  # type: ignore[misc]
        return {name: data for (name, _), data in zip(wanted, results, strict=True)}

    async def snapshot(self, name: str | None = None) -> tuple[list[ServerGroup], list[LoadBalancer]]:
        """The region's server groups (or just ``name``) and, for a full read, its load balancers."""
        groups = await self.groups(name)
        instance_ids = [i["InstanceId"] for g in groups for i in g.get("Instances", [])]
        balancer_list = [] if name else await self.balancers()
        all_groups = await self.target_groups()
        attached = {arn for g in groups for arn in g.get("TargetGroupARNs", [])}
        instances, health, templates = await asyncio.gather(
            self.instances(instance_ids), self.target_health(sorted(attached)), self.templates(groups)
        )
        group_names = {tg["TargetGroupArn"]: tg.get("TargetGroupName", "") for tg in all_groups}
        balancers_of = {  # an ALB's ARN ends in app/NAME/ID
            tg["TargetGroupArn"]: sorted(arn.split("/")[-2] for arn in tg.get("LoadBalancerArns", []))
            for tg in all_groups
        }
        image_ids = sorted({str(data.get("ImageId")) for data in templates.values() if data.get("ImageId")})
        image_names = await self._image_names(image_ids)
        server_groups = [
            self._server_group(
                g,
                instances,
                health,
                templates.get(g["AutoScalingGroupName"], {}),
                group_names,
                balancers_of,
                image_names,
            )
            for g in groups
        ]
        load_balancer_models = [
            self._load_balancer(lb, ls, groups, group_names, all_groups) for lb, ls in balancer_list
        ]
        return server_groups, load_balancer_models

    async def _image_names(self, image_ids: list[str]) -> dict[str, str]:
        if not image_ids:
            return {}
        answer = await self.clients.ec2.describe_images(Filters=[{"Name": "image-id", "Values": image_ids}])
        return {image["ImageId"]: image.get("Name", image["ImageId"]) for image in answer.get("Images", [])}

    async def images(self) -> list[Image]:
        """The account's own images in this region."""
        return [
            images.to_model(i, account=self.account, region=self.region) for i in await images.own_images(self.clients)
        ]

    def _instance(
        self,
        member: AsgInstanceTypeDef,
        ec2: InstanceTypeDef | None,
        group: AutoScalingGroupTypeDef,
        health: dict[str, dict[str, str]],
        names: dict[str, str],
    ) -> Instance:
        instance_id = member["InstanceId"]
        state = (ec2 or {}).get("State", {}).get("Name", "pending")
        lifecycle = str(member.get("LifecycleState", ""))
        platform: HealthState = "Unknown" if state == "running" else ("Starting" if state == "pending" else "Down")
        entries: list[Json] = [{"type": "Amazon", "healthClass": "platform", "state": platform}]
        registered = {arn: health.get(arn, {}).get(instance_id) for arn in group.get("TargetGroupARNs", [])}
        group_states: list[HealthState] = [TARGET_STATES.get(t or "", "OutOfService") for t in registered.values()]
        in_groups = [
            {"name": names.get(arn, arn), "state": group_state, "targetGroupArn": arn}
            for arn, group_state in zip(registered, group_states, strict=True)
        ]
        if in_groups:
            entries.append({"type": "TargetGroup", "state": _worst(group_states), "targetGroups": in_groups})
        states = [TARGET_STATES.get(target, "Unknown") for target in registered.values() if target]
        healthy_in_asg = member.get("HealthStatus", "Healthy") == "Healthy" and lifecycle == "InService"
        overall: HealthState
        if state == "pending" or lifecycle.startswith("Pending"):
            overall = "Starting"
        elif state != "running" or not healthy_in_asg:
            overall = "Down"
        else:  # registered: what the target groups say; out of rotation or none: healthy in its group
            overall = _worst(states) if states else "Up"
        details = ec2 or {}
        return Instance(
            id=instance_id,
            zone=member.get("AvailabilityZone", ""),
            health_state=overall,
            health_type="Amazon",
            launch_time=millis(details.get("LaunchTime")),
            extra={
                "health": entries,
                "lifecycleState": lifecycle,
                "instanceType": member.get("InstanceType") or details.get("InstanceType"),
                "imageId": details.get("ImageId"),
                "privateIpAddress": details.get("PrivateIpAddress"),
                "privateDnsName": details.get("PrivateDnsName"),
                "publicDnsName": details.get("PublicDnsName"),
                "tags": tags.as_dict(details.get("Tags")),
            },
        )

    def _server_group(
        self,
        group: AutoScalingGroupTypeDef,
        instances: dict[str, InstanceTypeDef],
        health: dict[str, dict[str, str]],
        data: ResponseLaunchTemplateDataTypeDef,
        group_names: dict[str, str],
        balancers_of: dict[str, list[str]],
        image_names: dict[str, str],
    ) -> ServerGroup:
        name = group["AutoScalingGroupName"]
        arns = list(group.get("TargetGroupARNs", []))
        image_id = str(data.get("ImageId") or "")
        launch_config: Json = {"imageId": image_id, "instanceType": data.get("InstanceType")}
        if data.get("KeyName"):
            launch_config["keyPair"] = data["KeyName"]
        if data.get("IamInstanceProfile", {}).get("Name"):
            launch_config["iamRole"] = data["IamInstanceProfile"]["Name"]
        if data.get("UserData"):
            launch_config["base64UserData"] = data["UserData"]
        if "Monitoring" in data:
            launch_config["instanceMonitoring"] = bool(data["Monitoring"].get("Enabled"))
        group_tags = tags.as_dict(group.get("Tags"))
        return ServerGroup(
            name=name,
            account=self.account,
            region=self.region,
            zones=tuple(sorted(group.get("AvailabilityZones", []))),
            created_time=millis(group.get("CreatedTime")),
            disabled=rotation.is_disabled(group),
            capacity=Capacity(min=group["MinSize"], max=group["MaxSize"], desired=group["DesiredCapacity"]),
            instances=tuple(
                self._instance(member, instances.get(member["InstanceId"]), group, health, group_names)
                for member in sorted(group.get("Instances", []), key=lambda m: m["InstanceId"])
            ),
            load_balancers=tuple(sorted({lb for arn in arns for lb in balancers_of.get(arn, [])})),
            target_groups=tuple(group_names.get(arn, arn) for arn in arns),
            security_groups=tuple(data.get("SecurityGroupIds", [])),
            image={"imageId": image_id, "name": image_names.get(image_id, image_id)} if image_id else {},
            launch_config={key: value for key, value in launch_config.items() if value is not None},
            extra={
                "tags": group_tags,
                "asg": {
                    "autoScalingGroupName": name,
                    "minSize": group["MinSize"],
                    "maxSize": group["MaxSize"],
                    "desiredCapacity": group["DesiredCapacity"],
                    "suspendedProcesses": [
                        {"processName": p.get("ProcessName")} for p in group.get("SuspendedProcesses", [])
                    ],
                    "targetGroupARNs": arns,
                    "vpczoneIdentifier": group.get("VPCZoneIdentifier"),
                    "healthCheckType": group.get("HealthCheckType"),
                    "defaultCooldown": group.get("DefaultCooldown"),
                    "tags": [{"key": k, "value": v} for k, v in sorted(group_tags.items())],
                },
                "launchTemplate": {
                    "launchTemplateName": group.get("LaunchTemplate", {}).get("LaunchTemplateName"),
                    "launchTemplateId": group.get("LaunchTemplate", {}).get("LaunchTemplateId"),
                    "version": group.get("LaunchTemplate", {}).get("Version"),
                    "launchTemplateData": dict(data),
                },
            },
        )

    def _load_balancer(
        self,
        balancer: LoadBalancerTypeDef,
        listeners: list[ListenerTypeDef],
        groups: list[AutoScalingGroupTypeDef],
        group_names: dict[str, str],
        all_groups: list[TargetGroupTypeDef],
    ) -> LoadBalancer:
        arns = {arn for listener in listeners for arn in load_balancers.forwarded_target_groups(listener)}
        members = sorted({g["AutoScalingGroupName"] for g in groups if arns & set(g.get("TargetGroupARNs", []))})
        listener_json = [
            {
                "port": listener.get("Port"),
                "protocol": listener.get("Protocol"),
                "defaultActions": [
                    {"type": "forward", "targetGroupName": group_names.get(arn, arn)}
                    for arn in load_balancers.forwarded_target_groups(listener)
                ],
            }
            for listener in sorted(listeners, key=lambda item: item.get("Port", 0))
        ]
        target_groups = [
            {
                "name": tg.get("TargetGroupName"),
                "protocol": tg.get("Protocol"),
                "port": tg.get("Port"),
                "healthCheckPath": tg.get("HealthCheckPath"),
                "serverGroups": [
                    g["AutoScalingGroupName"] for g in groups if tg["TargetGroupArn"] in g.get("TargetGroupARNs", [])
                ],
            }
            for tg in all_groups
            if tg["TargetGroupArn"] in arns
        ]
        return LoadBalancer(
            name=balancer["LoadBalancerName"],
            account=self.account,
            region=self.region,
            server_groups=tuple(members),
            listeners=tuple(listener_json),
            dns_name=balancer.get("DNSName"),
            extra={
                "loadBalancerType": "application",
                "vpcId": balancer.get("VpcId"),
                "scheme": balancer.get("Scheme"),
                "availabilityZones": sorted(z.get("ZoneName", "") for z in balancer.get("AvailabilityZones", [])),
                "subnets": sorted(z.get("SubnetId", "") for z in balancer.get("AvailabilityZones", [])),
                "securityGroups": list(balancer.get("SecurityGroups", [])),
                "targetGroups": target_groups,
                "createdTime": millis(balancer.get("CreatedTime")),
            },
        )
