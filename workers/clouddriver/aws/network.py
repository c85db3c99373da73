"""Where a server group or load balancer lives in a region: its VPC, subnets and security groups.

An account may name its VPC (``aws.vpcId``); otherwise the region's default VPC is used. Zones
pick one subnet each (the zone's default subnet first); security groups may be given by id
(``sg-…``) or by name, as Spinnaker's deploy descriptions do.
"""

from __future__ import annotations

from collections.abc import Iterable

from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.provider import OperationFailed


async def vpc_id(clients: RegionClients, configured: str | None) -> str:
    """``configured``, or the id of the region's default VPC."""
    if configured:
        return configured
    answer = await clients.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
    for vpc in answer.get("Vpcs", []):
        if "VpcId" in vpc:
            return vpc["VpcId"]
    raise OperationFailed(f"region {clients.region} has no default VPC; set the account's aws.vpcId")


async def subnets(clients: RegionClients, vpc: str, zones: Iterable[str] = ()) -> dict[str, str]:
    """One subnet id per zone of ``vpc`` (every zone it has a subnet in, or just ``zones``)."""
    wanted = set(zones)
    paginator = clients.ec2.get_paginator("describe_subnets")
    chosen: dict[str, tuple[bool, str]] = {}
    async for page in paginator.paginate(Filters=[{"Name": "vpc-id", "Values": [vpc]}]):
        for subnet in page.get("Subnets", []):
            zone, subnet_id = subnet.get("AvailabilityZone"), subnet.get("SubnetId")
            if not zone or not subnet_id or (wanted and zone not in wanted):
                continue
            is_default = bool(subnet.get("DefaultForAz"))
            if zone not in chosen or (is_default and not chosen[zone][0]):
                chosen[zone] = (is_default, subnet_id)
    missing = sorted(wanted - set(chosen))
    if missing:
        raise OperationFailed(f"availabilityZones: {vpc} has no subnet in {', '.join(missing)}")
    if not chosen:
        raise OperationFailed(f"{vpc} in {clients.region} has no subnets")
    return {zone: subnet_id for zone, (_, subnet_id) in sorted(chosen.items())}


async def security_group_ids(clients: RegionClients, vpc: str, groups: Iterable[str]) -> list[str]:
    """The ids of ``groups`` (ids kept, names looked up in ``vpc``), in the order given."""
    wanted = list(dict.fromkeys(groups))
    by_name = [group for group in wanted if not group.startswith("sg-")]
    ids: dict[str, str] = {}
    if by_name:
        answer = await clients.ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": by_name}]
        )
        ids = {group["GroupName"]: group["GroupId"] for group in answer.get("SecurityGroups", [])}
        missing = [name for name in by_name if name not in ids]
        if missing:
            raise OperationFailed(f"securityGroups: no security group named {', '.join(missing)} in {vpc}")
    return [group if group.startswith("sg-") else ids[group] for group in wanted]


async def security_group_names(clients: RegionClients, group_ids: Iterable[str]) -> dict[str, str]:
    """``{id: name}`` for the security groups that exist among ``group_ids``."""
    unique = sorted(set(group_ids))
    if not unique:
        return {}
    answer = await clients.ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": unique}])
    return {group["GroupId"]: group.get("GroupName", group["GroupId"]) for group in answer.get("SecurityGroups", [])}
