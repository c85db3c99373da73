"""The aws provider against a moto server over HTTP: every operation, idempotency and snapshot shapes."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from schemas.json_types import Json
from tests.integration.clouddriver.test_aws_fixtures import (
    ACCOUNT,
    REGION,
    account,
    aws_config,
    clients,
    image,
    moto,
    provider,
    register_image,
)
from workers.clouddriver.aws import AwsProvider
from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.descriptions import (
    CreateServerGroup,
    DeleteLoadBalancer,
    DestroyServerGroup,
    DisableServerGroup,
    EnableServerGroup,
    ResizeServerGroup,
    TerminateInstances,
    UpsertLoadBalancer,
)
from workers.clouddriver.model import Capacity
from workers.clouddriver.provider import Account, OperationFailed, no_progress

__all__ = ["account", "aws_config", "clients", "image", "moto", "provider"]  # fixtures used by name


def create(name: str = "hello-prod-web-v000", **fields: Any) -> CreateServerGroup:
    names = name.split("-")
    values: Json = {
        "account": ACCOUNT,
        "region": REGION,
        "application": names[0],
        "stack": "prod",
        "free_form_details": "web",
        "server_group_name": name,
        "capacity": Capacity(min=1, max=4, desired=2),
        "image": "hello-1.0.0",
        "config": {"instanceType": "m5.large", "userData": "#!/bin/sh\necho hi", "keyPair": "ops"},
    }
    values.update(fields)
    return CreateServerGroup(**values)


async def group_of(clients: RegionClients, name: str) -> Json:
    found = (await clients.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name]))["AutoScalingGroups"]
    assert len(found) == 1, found
    return dict(found[0])


async def registered(clients: RegionClients, target_group: str) -> set[str]:
    arn = (await clients.elbv2.describe_target_groups(Names=[target_group]))["TargetGroups"][0]["TargetGroupArn"]
    health = await clients.elbv2.describe_target_health(TargetGroupArn=arn)
    return {item["Target"]["Id"] for item in health["TargetHealthDescriptions"]}


async def upsert_lb(provider: AwsProvider, account: Account, name: str = "hello-lb", **fields: Any) -> Json:
    return await provider.upsert_load_balancer(
        account,
        UpsertLoadBalancer(account=ACCOUNT, region=REGION, name=name, **fields),
        no_progress,
    )


async def test_create_makes_an_asg_from_its_own_launch_template_with_spinnakers_tags(
    provider: AwsProvider, account: Account, clients: RegionClients, image: str
) -> None:
    await clients.ec2.create_security_group(GroupName="hello", Description="hello app")
    group = await provider.create_server_group(account, create(security_groups=("hello",)), no_progress)

    assert group.name == "hello-prod-web-v000" and group.cluster == "hello-prod-web"
    assert group.capacity == Capacity(min=1, max=4, desired=2) and len(group.instances) == 2
    assert [instance.health_state for instance in group.instances] == ["Up", "Up"]
    asg = await group_of(clients, "hello-prod-web-v000")
    tags = {tag["Key"]: tag["Value"] for tag in asg["Tags"]}
    assert tags == {"spinnaker:application": "hello", "spinnaker:stack": "prod", "spinnaker:details": "web"}
    assert asg["LaunchTemplate"]["LaunchTemplateName"] == "hello-prod-web-v000"
    assert asg["LaunchTemplate"]["Version"] == "1"
    versions = await clients.ec2.describe_launch_template_versions(LaunchTemplateName="hello-prod-web-v000")
    assert len(versions["LaunchTemplateVersions"]) == 1
    data = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["ImageId"] == image and data["InstanceType"] == "m5.large" and data["KeyName"] == "ops"
    assert base64.b64decode(data["UserData"]) == b"#!/bin/sh\necho hi"
    sg = (await clients.ec2.describe_security_groups(GroupNames=["hello"]))["SecurityGroups"][0]["GroupId"]
    assert data["SecurityGroupIds"] == [sg]
    assert group.security_groups == (sg,)
    assert group.launch_config["imageId"] == image and group.launch_config["keyPair"] == "ops"
    assert group.image == {"imageId": image, "name": "hello-1.0.0"}


async def test_a_redelivered_create_adopts_the_group_instead_of_making_a_second(
    provider: AwsProvider, account: Account, clients: RegionClients, image: str
) -> None:
    await provider.create_server_group(account, create(), no_progress)
    again = await provider.create_server_group(account, create(capacity=Capacity(min=1, max=4, desired=3)), no_progress)

    groups = (await clients.autoscaling.describe_auto_scaling_groups())["AutoScalingGroups"]
    templates = (await clients.ec2.describe_launch_templates())["LaunchTemplates"]
    assert [g["AutoScalingGroupName"] for g in groups] == ["hello-prod-web-v000"]
    assert [t["LaunchTemplateName"] for t in templates] == ["hello-prod-web-v000"]
    assert again.capacity.desired == 3 and len(again.instances) == 3


async def test_snapshot_json_has_clouddrivers_shapes(provider: AwsProvider, account: Account, image: str) -> None:
    await upsert_lb(provider, account)
    await provider.create_server_group(account, create(load_balancers=("hello-lb",)), no_progress)

    snapshot = await provider.describe(account)

    (group,) = snapshot.server_groups
    body = group.to_json(provider="aws")
    assert body["type"] == body["cloudProvider"] == "aws"
    assert body["account"] == ACCOUNT and body["region"] == REGION
    assert body["moniker"] == {
        "app": "hello",
        "cluster": "hello-prod-web",
        "stack": "prod",
        "detail": "web",
        "sequence": 0,
    }
    assert body["isDisabled"] is False
    assert body["loadBalancers"] == ["hello-lb"] and body["targetGroups"] == ["hello-lb"]
    assert body["instanceCounts"] == {"total": 2, "up": 2, "down": 0, "unknown": 0, "outOfService": 0, "starting": 0}
    assert body["asg"]["suspendedProcesses"] == [] and body["launchTemplate"]["version"] == "1"
    instance = body["instances"][0]
    assert instance["healthState"] == "Up" and instance["zone"].startswith(REGION)
    assert {entry["type"] for entry in instance["health"]} == {"Amazon", "TargetGroup"}
    (balancer,) = snapshot.load_balancers
    lb = balancer.to_json(provider="aws")
    assert lb["name"] == "hello-lb" and lb["dnsname"] and lb["serverGroups"] == [{"name": "hello-prod-web-v000"}]
    assert lb["listeners"] == [
        {"port": 80, "protocol": "HTTP", "defaultActions": [{"type": "forward", "targetGroupName": "hello-lb"}]}
    ]
    assert lb["targetGroups"][0]["serverGroups"] == ["hello-prod-web-v000"]
    assert [found.name for found in snapshot.images] == ["hello-1.0.0"]
    assert snapshot.images[0].to_json(provider="aws")["amis"] == {REGION: [image]}


async def test_upsert_load_balancer_creates_then_updates_one_alb(
    provider: AwsProvider, account: Account, clients: RegionClients
) -> None:
    result = await upsert_lb(provider, account, config={"healthCheckPath": "/health"})
    assert result["loadBalancers"][REGION]["name"] == "hello-lb" and result["loadBalancers"][REGION]["dnsName"]

    await upsert_lb(
        provider,
        account,
        listeners=(
            {"port": 8080, "protocol": "HTTP", "defaultActions": [{"type": "forward", "targetGroupName": "hello-lb"}]},
        ),
        config={"healthCheckPath": "/ready"},
    )

    balancers = (await clients.elbv2.describe_load_balancers())["LoadBalancers"]
    assert [b["LoadBalancerName"] for b in balancers] == ["hello-lb"]
    listeners = (await clients.elbv2.describe_listeners(LoadBalancerArn=balancers[0]["LoadBalancerArn"]))["Listeners"]
    assert [listener["Port"] for listener in listeners] == [8080]
    (target_group,) = (await clients.elbv2.describe_target_groups())["TargetGroups"]
    assert target_group["HealthCheckPath"] == "/ready"


async def test_upsert_refuses_a_listener_forwarding_to_an_unknown_target_group(
    provider: AwsProvider, account: Account
) -> None:
    with pytest.raises(OperationFailed, match=r"listeners\[0\]\.defaultActions"):
        await upsert_lb(provider, account, listeners=({"port": 80, "defaultActions": [{"targetGroupName": "nope"}]},))


async def test_disable_deregisters_and_suspends_enable_puts_it_back(
    provider: AwsProvider, account: Account, clients: RegionClients, image: str
) -> None:
    await upsert_lb(provider, account)
    created = await provider.create_server_group(account, create(load_balancers=("hello-lb",)), no_progress)
    ids = {instance.id for instance in created.instances}
    assert await registered(clients, "hello-lb") == ids
    target = {"account": ACCOUNT, "region": REGION, "server_group_name": created.name}

    await provider.disable_server_group(account, DisableServerGroup(**target), no_progress)
    await provider.disable_server_group(account, DisableServerGroup(**target), no_progress)  # again: no change

    assert await registered(clients, "hello-lb") == set()
    suspended = {p["ProcessName"] for p in (await group_of(clients, created.name))["SuspendedProcesses"]}
    assert suspended == {"Launch", "Terminate", "AddToLoadBalancer"}
    disabled = await provider.server_group(account, REGION, created.name)
    assert disabled is not None and disabled.disabled and disabled.target_groups == ("hello-lb",)
    assert disabled.instances[0].extra["health"][1]["state"] == "OutOfService"

    await provider.enable_server_group(account, EnableServerGroup(**target), no_progress)

    assert await registered(clients, "hello-lb") == ids
    assert (await group_of(clients, created.name))["SuspendedProcesses"] == []
    enabled = await provider.server_group(account, REGION, created.name)
    assert enabled is not None and not enabled.disabled


async def test_a_percentage_moves_only_that_share_of_instances(
    provider: AwsProvider, account: Account, clients: RegionClients, image: str
) -> None:
    await upsert_lb(provider, account)
    created = await provider.create_server_group(
        account, create(load_balancers=("hello-lb",), capacity=Capacity(min=4, max=4, desired=4)), no_progress
    )
    target = {"account": ACCOUNT, "region": REGION, "server_group_name": created.name}

    await provider.disable_server_group(account, DisableServerGroup(**target, desired_percentage=50), no_progress)

    assert len(await registered(clients, "hello-lb")) == 2
    assert (await group_of(clients, created.name))["SuspendedProcesses"] == []  # partial: processes keep running


async def test_a_group_created_disabled_stays_out_of_its_target_groups(
    provider: AwsProvider, account: Account, clients: RegionClients, image: str
) -> None:
    await upsert_lb(provider, account)
    group = await provider.create_server_group(
        account, create(load_balancers=("hello-lb",), disabled=True), no_progress
    )

    assert group.disabled and len(group.instances) == 2
    assert await registered(clients, "hello-lb") == set()

    await provider.resize_server_group(
        account,
        ResizeServerGroup(
            account=ACCOUNT, region=REGION, server_group_name=group.name, capacity=Capacity(min=3, max=4, desired=3)
        ),
        no_progress,
    )
    assert await registered(clients, "hello-lb") == set()


async def test_resize_sets_capacity(
    provider: AwsProvider, account: Account, clients: RegionClients, image: str
) -> None:
    group = await provider.create_server_group(account, create(), no_progress)

    await provider.resize_server_group(
        account,
        ResizeServerGroup(
            account=ACCOUNT, region=REGION, server_group_name=group.name, capacity=Capacity(min=0, max=5, desired=4)
        ),
        no_progress,
    )

    resized = await provider.server_group(account, REGION, group.name)
    assert resized is not None and resized.capacity == Capacity(min=0, max=5, desired=4) and len(resized.instances) == 4
    with pytest.raises(OperationFailed, match="capacity needs min <= desired <= max"):
        await provider.resize_server_group(
            account,
            ResizeServerGroup(
                account=ACCOUNT, region=REGION, server_group_name=group.name, capacity=Capacity(min=3, max=5, desired=1)
            ),
            no_progress,
        )
    with pytest.raises(OperationFailed, match="'hello-v404' not found"):
        await provider.resize_server_group(
            account,
            ResizeServerGroup(account=ACCOUNT, region=REGION, server_group_name="hello-v404", capacity=Capacity()),
            no_progress,
        )


async def test_terminated_instances_are_replaced_and_gone_ones_skipped(
    provider: AwsProvider, account: Account, clients: RegionClients, image: str
) -> None:
    group = await provider.create_server_group(account, create(), no_progress)
    victim = group.instances[0].id
    terminate = TerminateInstances(account=ACCOUNT, region=REGION, instance_ids=(victim,), server_group_name=group.name)

    await provider.terminate_instances(account, terminate, no_progress)
    await provider.terminate_instances(account, terminate, no_progress)  # redelivered: already gone

    after = await provider.server_group(account, REGION, group.name)
    assert after is not None and len(after.instances) == 2 and victim not in {i.id for i in after.instances}
    state = (await clients.ec2.describe_instances(InstanceIds=[victim]))["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "terminated"


async def test_destroy_removes_the_group_its_instances_and_template(
    provider: AwsProvider, account: Account, clients: RegionClients, image: str
) -> None:
    await upsert_lb(provider, account)
    group = await provider.create_server_group(account, create(load_balancers=("hello-lb",)), no_progress)
    destroy = DestroyServerGroup(account=ACCOUNT, region=REGION, server_group_name=group.name)

    await provider.destroy_server_group(account, destroy, no_progress)
    await provider.destroy_server_group(account, destroy, no_progress)  # gone already: done

    assert (await clients.autoscaling.describe_auto_scaling_groups())["AutoScalingGroups"] == []
    assert (await clients.ec2.describe_launch_templates())["LaunchTemplates"] == []
    assert await registered(clients, "hello-lb") == set()
    assert await provider.server_group(account, REGION, group.name) is None


async def test_delete_load_balancer_keeps_its_server_groups_running(
    provider: AwsProvider, account: Account, clients: RegionClients, image: str
) -> None:
    await upsert_lb(provider, account)
    group = await provider.create_server_group(account, create(load_balancers=("hello-lb",)), no_progress)
    delete = DeleteLoadBalancer(account=ACCOUNT, region=REGION, name="hello-lb")

    await provider.delete_load_balancer(account, delete, no_progress)
    await provider.delete_load_balancer(account, delete, no_progress)  # missing: already deleted

    assert (await clients.elbv2.describe_load_balancers())["LoadBalancers"] == []
    assert (await clients.elbv2.describe_target_groups())["TargetGroups"] == []
    remaining = await provider.server_group(account, REGION, group.name)
    assert remaining is not None and remaining.target_groups == () and len(remaining.instances) == 2


async def test_find_images_by_name_and_tags(provider: AwsProvider, account: Account, clients: RegionClients) -> None:
    await register_image(clients, "hello-1.0.0", {"appversion": "hello-1.0.0-h1"})
    await register_image(clients, "hello-1.1.0", {"appversion": "hello-1.1.0-h2"})
    await register_image(clients, "other-2.0.0")

    assert sorted(i.name for i in await provider.find_images(account, "hello", {})) == ["hello-1.0.0", "hello-1.1.0"]
    found = await provider.find_images(account, "hello", {"appversion": "hello-1.1.0-h2"})
    assert [(i.name, i.region, i.account) for i in found] == [("hello-1.1.0", REGION, ACCOUNT)]
    assert await provider.find_images(account, "nothing-like-it", {}) == []


async def test_bad_descriptions_fail_naming_the_field(provider: AwsProvider, account: Account, image: str) -> None:
    with pytest.raises(OperationFailed, match="image: no image 'missing-9'"):
        await provider.create_server_group(account, create(image="missing-9"), no_progress)
    with pytest.raises(OperationFailed, match="amiName"):
        await provider.create_server_group(account, create(image=None), no_progress)
    with pytest.raises(OperationFailed, match="securityGroups: no security group named nope"):
        await provider.create_server_group(account, create(security_groups=("nope",)), no_progress)
    with pytest.raises(OperationFailed, match="loadBalancers: no load balancer 'nope'"):
        await provider.create_server_group(account, create(load_balancers=("nope",)), no_progress)
    with pytest.raises(OperationFailed, match="region: 'eu-west-9'"):
        await provider.create_server_group(account, create(region="eu-west-9"), no_progress)
    assert (await provider.describe(account)).server_groups == ()


async def test_the_launch_template_is_created_with_the_operations_client_token(
    provider: AwsProvider, account: Account, image: str
) -> None:
    sent: list[str] = []

    def record(params: Json, **_: Any) -> None:
        sent.append(params["ClientToken"])

    ec2 = (await provider.clients(account, REGION)).ec2
    ec2.meta.events.register("before-parameter-build.ec2.CreateLaunchTemplate", record)
    token = "3f6c3c1e-6c1b-5c55-9b8e-0d6f0c1e2a77"  # what OperationRun.client_token derived for the create
    await provider.create_server_group(account, create(client_token=token), no_progress)

    assert sent == [token]
