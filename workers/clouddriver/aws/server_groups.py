"""Server groups as EC2 Auto Scaling groups: one group per Frigga name, launched from its own template.

Create is idempotent by name: a group of that name that exists is adopted (brought to the
described capacity and rotation state) rather than made twice, and its launch template is found by
name the same way. A group created disabled is made with no instances, has ``AddToLoadBalancer``
suspended, and only then gets its capacity, so no instance enters a target group. Destroy takes the
group out of rotation, force-deletes it (terminating its instances), waits until AWS has removed it
and deletes its launch template.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from workers.clouddriver.aws import images, launch_templates, load_balancers, network, rotation, tags
from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.aws.errors import is_already_exists, is_not_found
from workers.clouddriver.descriptions import CreateServerGroup, TerminateInstances
from workers.clouddriver.model import Capacity
from workers.clouddriver.provider import OperationFailed, Progress

if TYPE_CHECKING:
    from types_aiobotocore_autoscaling.type_defs import AutoScalingGroupTypeDef, TagTypeDef

DELETE_TIMEOUT_SECONDS = 900.0


async def find(clients: RegionClients, name: str) -> AutoScalingGroupTypeDef | None:
    """The Auto Scaling group called ``name``, or ``None``."""
    found = (await clients.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])).get(
        "AutoScalingGroups", []
    )
    return found[0] if found else None


async def existing(clients: RegionClients, name: str) -> AutoScalingGroupTypeDef:
    """The group called ``name``; :class:`OperationFailed` if it does not exist or is being deleted."""
    group = await find(clients, name)
    if group is None:
        raise OperationFailed(f"server group {name!r} not found in {clients.region}")
    if group.get("Status"):
        raise OperationFailed(f"server group {name!r} is being destroyed ({group['Status']})")
    return group


def _asg_tags(name: str, extra: object) -> list[TagTypeDef]:
    given = {str(key): str(value) for key, value in extra.items()} if isinstance(extra, dict) else {}
    return [
        {
            "Key": key,
            "Value": value,
            "PropagateAtLaunch": True,
            "ResourceId": name,
            "ResourceType": "auto-scaling-group",
        }
        for key, value in sorted(tags.server_group_tags(name, given).items())
    ]


def checked(capacity: Capacity) -> Capacity:
    """``capacity`` if ``min <= desired <= max``; :class:`OperationFailed` naming the field otherwise."""
    try:
        return capacity.checked()
    except ValueError as error:
        raise OperationFailed(f"capacity: {error}") from None


async def _set_capacity(clients: RegionClients, name: str, capacity: Capacity) -> None:
    await clients.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=capacity.min, MaxSize=capacity.max, DesiredCapacity=capacity.desired
    )


async def create(
    clients: RegionClients, configured_vpc: str | None, description: CreateServerGroup, progress: Progress
) -> None:
    """Create (or adopt) the Auto Scaling group ``description.server_group_name``."""
    name = description.server_group_name
    capacity = checked(description.capacity)
    if (group := await find(clients, name)) is None:
        config = description.config
        image_name = description.image
        if not image_name:
            raise OperationFailed("amiName: an aws server group needs an image (amiName or imageId)")
        image = await images.resolve(clients, image_name)
        vpc = await network.vpc_id(clients, config.get("vpcId") or configured_vpc)
        subnet_ids = config.get("subnetIds") or list((await network.subnets(clients, vpc, description.zones)).values())
        group_ids = await network.security_group_ids(clients, vpc, description.security_groups)
        arns = await load_balancers.target_group_arns(clients, description.load_balancers, description.target_groups)
        template = await launch_templates.ensure(
            clients,
            name,
            launch_templates.template_data(name, image["ImageId"], group_ids, config),
            client_token=description.client_token,
        )
        await progress(f"creating auto scaling group {name} from {image['ImageId']} in {clients.region}")
        start = Capacity(min=0, max=capacity.max, desired=0) if description.disabled else capacity
        try:
            await clients.autoscaling.create_auto_scaling_group(
                AutoScalingGroupName=name,
                LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"},
                MinSize=start.min,
                MaxSize=start.max,
                DesiredCapacity=start.desired,
                VPCZoneIdentifier=",".join(subnet_ids),
                TargetGroupARNs=arns,
                HealthCheckType=str(config.get("healthCheckType") or "EC2"),
                HealthCheckGracePeriod=int(config.get("healthCheckGracePeriod") or 600),
                DefaultCooldown=int(config.get("cooldown") or 10),
                TerminationPolicies=list(config.get("terminationPolicies") or ["Default"]),
                Tags=_asg_tags(name, config.get("tags")),
            )
        except ClientError as error:
            if not is_already_exists(error):
                raise
        group = await existing(clients, name)
    else:
        await progress(f"adopting auto scaling group {name} that exists in {clients.region}")
        if group.get("Status"):
            raise OperationFailed(f"server group {name!r} is being destroyed ({group['Status']}); pick another name")
    if description.disabled:
        await clients.autoscaling.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["AddToLoadBalancer"])
    await _set_capacity(clients, name, capacity)
    if description.disabled:
        # AWS adds no instance to a target group while AddToLoadBalancer is suspended; make sure.
        group = await existing(clients, name)
        await rotation.deregister(clients, group, [i["InstanceId"] for i in group.get("Instances", [])])


async def resize(clients: RegionClients, name: str, capacity: Capacity, progress: Progress) -> None:
    """Set the group's min, max and desired; a disabled group's new instances stay out of rotation."""
    capacity = checked(capacity)
    group = await existing(clients, name)
    await progress(f"resizing {name} to {capacity.model_dump()}")
    await _set_capacity(clients, name, checked(capacity))
    if rotation.is_disabled(group):
        group = await existing(clients, name)
        await rotation.deregister(clients, group, [i["InstanceId"] for i in group.get("Instances", [])])


async def enable(clients: RegionClients, name: str, percentage: int, progress: Progress) -> None:
    """Resume the group's processes and register its instances with its target groups."""
    group = await existing(clients, name)
    await progress(f"enabling {name} ({percentage}%)")
    await rotation.put_in(clients, group, percentage)


async def disable(clients: RegionClients, name: str, percentage: int, progress: Progress) -> None:
    """Suspend the group's processes and deregister its instances, waiting for them to drain."""
    group = await existing(clients, name)
    await progress(f"disabling {name} ({percentage}%)")
    await rotation.take_out(clients, group, percentage, progress)


async def destroy(clients: RegionClients, name: str, progress: Progress, *, poll: float = 2.0) -> None:
    """Take the group out of rotation, delete it with its instances and launch template; gone is done."""
    group = await find(clients, name)
    if group is not None and not group.get("Status"):
        await rotation.take_out(clients, group, 100, progress)
        await progress(f"deleting auto scaling group {name} and its instances")
        try:
            await clients.autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        except ClientError as error:
            if not is_not_found(error):
                raise
    deadline = time.monotonic() + DELETE_TIMEOUT_SECONDS
    while await find(clients, name) is not None:
        if time.monotonic() >= deadline:
            raise OperationFailed(f"server group {name!r} still exists {DELETE_TIMEOUT_SECONDS:g} s after its deletion")
        await asyncio.sleep(poll)
    await launch_templates.delete(clients, name)


async def terminate(clients: RegionClients, description: TerminateInstances, progress: Progress) -> None:
    """Terminate instances: in a group, replaced up to its desired capacity; instances gone are skipped."""
    wanted = list(dict.fromkeys(description.instance_ids))
    in_groups = (await clients.autoscaling.describe_auto_scaling_instances(InstanceIds=wanted)).get(
        "AutoScalingInstances", []
    )
    owners = {item["InstanceId"]: item["AutoScalingGroupName"] for item in in_groups}
    if description.server_group_name:
        strangers = sorted(i for i, owner in owners.items() if owner != description.server_group_name)
        if strangers:
            raise OperationFailed(f"instanceIds: {', '.join(strangers)} are not in {description.server_group_name}")
    for instance_id, owner in owners.items():
        group = await find(clients, owner)
        if group is not None:
            await rotation.deregister(clients, group, [instance_id])
        await progress(f"terminating {instance_id} of {owner}")
        try:
            await clients.autoscaling.terminate_instance_in_auto_scaling_group(
                InstanceId=instance_id, ShouldDecrementDesiredCapacity=False
            )
        except ClientError as error:
            if not is_not_found(error):
                raise
    loose = [i for i in wanted if i not in owners]
    if loose:
        answer = await clients.ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": loose}])
        running = [
            instance["InstanceId"]
            for reservation in answer.get("Reservations", [])
            for instance in reservation.get("Instances", [])
            if instance.get("State", {}).get("Name") not in ("terminated", "shutting-down")
        ]
        if running:
            await progress(f"terminating {', '.join(running)}")
            await clients.ec2.terminate_instances(InstanceIds=running)
