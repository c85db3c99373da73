"""Putting a server group's instances into and out of its target groups, as Spinnaker's AWS disable does.

Disabling suspends the Auto Scaling processes ``Launch``, ``Terminate`` and ``AddToLoadBalancer``
(Clouddriver's ``AutoScalingProcessType.getDisableProcesses()``) and deregisters the instances
from the target groups the group stays attached to; it returns once those targets finished
draining (the target group's deregistration delay bounds the wait). Enabling resumes the processes
and registers the instances again. The group keeps its target group list either way, which is
how enable knows where to go back to; a group is disabled exactly when ``AddToLoadBalancer`` is
suspended (what Clouddriver's ``AmazonServerGroup.isDisabled`` reads).

Rolling red/black passes a percentage: only that share of the instances (the first by id) is
registered or deregistered, and a partial disable leaves the processes running, as in Spinnaker.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.aws.errors import is_not_found
from workers.clouddriver.provider import Progress

if TYPE_CHECKING:
    from types_aiobotocore_autoscaling.type_defs import AutoScalingGroupTypeDef

DISABLE_PROCESSES = ("Launch", "Terminate", "AddToLoadBalancer")
DRAIN_MARGIN_SECONDS = 30.0


def is_disabled(group: AutoScalingGroupTypeDef) -> bool:
    """Out of rotation: ``AddToLoadBalancer`` is suspended."""
    return any(process.get("ProcessName") == "AddToLoadBalancer" for process in group.get("SuspendedProcesses", []))


def serving_instances(group: AutoScalingGroupTypeDef) -> list[str]:
    """Ids of the instances that are in service or on their way (Spinnaker's choice), sorted."""
    return sorted(
        instance["InstanceId"]
        for instance in group.get("Instances", [])
        if instance.get("LifecycleState") == "InService"
        or str(instance.get("LifecycleState", "")).startswith("Pending")
    )


def share(instance_ids: list[str], percentage: int) -> list[str]:
    """The first ``percentage`` percent of ``instance_ids`` (rounded up)."""
    return instance_ids[: math.ceil(len(instance_ids) * percentage / 100)]


async def register(clients: RegionClients, group: AutoScalingGroupTypeDef, instance_ids: list[str]) -> None:
    """Register ``instance_ids`` with every target group of ``group`` (gone target groups are skipped)."""
    if not instance_ids:
        return
    for arn in group.get("TargetGroupARNs", []):
        try:
            await clients.elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in instance_ids])
        except ClientError as error:
            if not is_not_found(error):
                raise


async def registered(clients: RegionClients, target_group_arn: str) -> dict[str, str]:
    """``{instance id: target state}`` of a target group (empty when the group is gone)."""
    try:
        health = await clients.elbv2.describe_target_health(TargetGroupArn=target_group_arn)
    except ClientError as error:
        if is_not_found(error):
            return {}
        raise
    return {
        item["Target"]["Id"]: str(item.get("TargetHealth", {}).get("State", ""))
        for item in health.get("TargetHealthDescriptions", [])
    }


async def deregister(clients: RegionClients, group: AutoScalingGroupTypeDef, instance_ids: list[str]) -> list[str]:
    """Deregister those of ``instance_ids`` registered with ``group``'s target groups; the groups touched."""
    touched: list[str] = []
    for arn in group.get("TargetGroupARNs", []):
        present = [i for i in instance_ids if i in await registered(clients, arn)]
        if not present:
            continue
        try:
            await clients.elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in present])
            touched.append(arn)
        except ClientError as error:
            if not is_not_found(error):
                raise
    return touched


async def _drain_seconds(clients: RegionClients, target_group_arn: str) -> float:
    attributes = await clients.elbv2.describe_target_group_attributes(TargetGroupArn=target_group_arn)
    for attribute in attributes.get("Attributes", []):
        if attribute.get("Key") == "deregistration_delay.timeout_seconds":
            return float(attribute.get("Value") or 300)
    return 300.0


async def wait_drained(
    clients: RegionClients,
    target_group_arns: list[str],
    instance_ids: list[str],
    progress: Progress,
    *,
    poll: float = 2.0,
) -> None:
    """Return once none of ``instance_ids`` is registered or draining in ``target_group_arns``."""
    leaving = set(instance_ids)
    for arn in target_group_arns:
        deadline = time.monotonic() + await _drain_seconds(clients, arn) + DRAIN_MARGIN_SECONDS
        reported = False
        while True:
            still = sorted(
                instance
                for instance, state in (await registered(clients, arn)).items()
                if instance in leaving and state not in ("unused", "")
            )
            if not still or time.monotonic() >= deadline:
                break
            if not reported:
                await progress(f"waiting for {len(still)} instance(s) to drain from {arn.rsplit(':', 1)[-1]}")
                reported = True
            await asyncio.sleep(poll)


async def take_out(
    clients: RegionClients, group: AutoScalingGroupTypeDef, percentage: int, progress: Progress, *, drain: bool = True
) -> None:
    """Disable (all of, or ``percentage`` of) ``group`` and wait for its requests in flight to drain."""
    name = group["AutoScalingGroupName"]
    if percentage >= 100:
        await clients.autoscaling.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=list(DISABLE_PROCESSES))
    instance_ids = share(serving_instances(group), percentage)
    still_there = await deregister(clients, group, instance_ids)
    if drain and still_there and instance_ids:
        await wait_drained(clients, still_there, instance_ids, progress)


async def put_in(clients: RegionClients, group: AutoScalingGroupTypeDef, percentage: int) -> None:
    """Enable ``group``: resume its processes and register (``percentage`` of) its instances."""
    await clients.autoscaling.resume_processes(
        AutoScalingGroupName=group["AutoScalingGroupName"], ScalingProcesses=list(DISABLE_PROCESSES)
    )
    await register(clients, group, share(serving_instances(group), percentage))
