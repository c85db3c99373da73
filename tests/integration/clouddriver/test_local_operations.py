"""Every Clouddriver operation on the ``local`` provider, over the bus as Orca sends them."""

from __future__ import annotations

import asyncio

from schemas.clouddriver_cache import CachedResources, ListServerGroups
from schemas.json_types import Json
from tests.authorities import ADMIN
from tests.integration.clouddriver.conftest import Clouddriver, cluster, get_json


async def balancer(clouddriver: Clouddriver, name: str = "hello-prod") -> str:
    answer = await clouddriver.ok(
        "upsertLoadBalancer", {"name": name, "credentials": "local", "cloudProvider": "local"}
    )
    return str(answer.outputs["loadBalancers"]["local"][name]["url"])


async def test_create_serves_through_the_load_balancer(clouddriver: Clouddriver) -> None:
    url = await balancer(clouddriver)
    answer = await clouddriver.ok("createServerGroup", cluster("v1", loadBalancers=["hello-prod"]))
    assert answer.outputs["deploy.server.groups"] == {"local": ["hello-prod-v000"]}
    assert answer.outputs["deploy.account.name"] == "local"
    assert answer.outputs["serverGroupName"] == "hello-prod-v000"
    assert "source" not in answer.outputs
    status, body = await get_json(url + "/")
    assert (status, body["version"]) == (200, "v1")
    second = await clouddriver.ok("createServerGroup", cluster("v2", loadBalancers=["hello-prod"]))
    assert second.outputs["serverGroupName"] == "hello-prod-v001"
    assert second.outputs["source"]["serverGroupName"] == "hello-prod-v000"
    assert [g["serverGroupName"] for g in second.outputs["previousServerGroups"]] == ["hello-prod-v000"]


async def instance_pids(clouddriver: Clouddriver, group: str) -> list[int]:
    cursor = clouddriver.db["clouddriver_local_instances"].find({"server_group": f"local|local|{group}"})
    return [instance["pid"] async for instance in cursor]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


async def test_resize_starts_and_stops_instances(clouddriver: Clouddriver) -> None:
    await clouddriver.ok("createServerGroup", cluster("v1", desired=1))
    answer = await clouddriver.ok(
        "resizeServerGroup",
        {"serverGroupName": "hello-prod-v000", "credentials": "local", "capacity": {"min": 1, "max": 3, "desired": 3}},
    )
    assert answer.outputs["capacity"] == {"min": 1, "max": 3, "desired": 3}
    pids = await instance_pids(clouddriver, "hello-prod-v000")
    assert len(pids) == 3 and all(map(alive, pids))
    await clouddriver.ok(
        "resizeServerGroup",
        {"serverGroupName": "hello-prod-v000", "credentials": "local", "capacity": {"min": 0, "max": 3, "desired": 1}},
    )
    remaining = await instance_pids(clouddriver, "hello-prod-v000")
    assert len(remaining) == 1
    assert [pid for pid in pids if alive(pid)] == remaining


async def test_resize_by_percentage_of_a_source_pins_capacity(clouddriver: Clouddriver) -> None:
    await clouddriver.ok("createServerGroup", cluster("v1", desired=4))
    await clouddriver.ok("createServerGroup", cluster("v2", desired=0))
    answer = await clouddriver.ok(
        "resizeServerGroup",
        {
            "cluster": "hello-prod",
            "target": "current_asg_dynamic",
            "credentials": "local",
            "action": "scale_to_server_group",
            "source": {"serverGroupName": "hello-prod-v000", "region": "local", "credentials": "local"},
            "scalePct": 50,
            "pinCapacity": True,
        },
    )
    assert answer.outputs["serverGroupName"] == "hello-prod-v001"
    assert answer.outputs["capacity"] == {"min": 2, "max": 2, "desired": 2}


async def test_disable_drains_then_enable_restores(clouddriver: Clouddriver) -> None:
    url = await balancer(clouddriver)
    await clouddriver.ok("createServerGroup", cluster("v1", loadBalancers=["hello-prod"], desired=1))
    await clouddriver.ok("createServerGroup", cluster("v2", loadBalancers=["hello-prod"], desired=1))
    await clouddriver.ok("disableServerGroup", {"serverGroupName": "hello-prod-v000", "credentials": "local"})
    versions = {(await get_json(url + "/"))[1]["version"] for _ in range(10)}
    assert versions == {"v2"}
    await clouddriver.ok("enableServerGroup", {"serverGroupName": "hello-prod-v000", "credentials": "local"})
    await clouddriver.ok("disableServerGroup", {"serverGroupName": "hello-prod-v001", "credentials": "local"})
    versions = {(await get_json(url + "/"))[1]["version"] for _ in range(10)}
    assert versions == {"v1"}
    await clouddriver.refresh()
    _, groups = await get_json_cache(clouddriver)
    disabled = {group["name"]: group["isDisabled"] for group in groups}
    assert disabled == {"hello-prod-v000": False, "hello-prod-v001": True}


async def get_json_cache(clouddriver: Clouddriver) -> tuple[int, list[Json]]:
    reply = await clouddriver.bus.ask(ListServerGroups(authority=ADMIN, application="hello"), timeout=5)
    assert isinstance(reply, CachedResources)
    return 200, reply.resources


async def test_destroy_stops_every_instance(clouddriver: Clouddriver) -> None:
    await clouddriver.ok("createServerGroup", cluster("v1", desired=2))
    pids = await instance_pids(clouddriver, "hello-prod-v000")
    answer = await clouddriver.ok("destroyServerGroup", {"serverGroupName": "hello-prod-v000", "credentials": "local"})
    assert answer.outputs["deploy.server.groups"] == {"local": ["hello-prod-v000"]}
    assert not any(map(alive, pids))
    again = await clouddriver.ok("destroyServerGroup", {"serverGroupName": "hello-prod-v000", "credentials": "local"})
    assert again.status == "SUCCEEDED"


async def test_terminated_instances_are_replaced(clouddriver: Clouddriver) -> None:
    await clouddriver.ok("createServerGroup", cluster("v1", desired=2))
    cursor = clouddriver.db["clouddriver_local_instances"].find({})
    before = {instance["_id"]: instance["pid"] async for instance in cursor}
    victim = sorted(before)[0]
    await clouddriver.ok("terminateInstances", {"instanceIds": [victim], "credentials": "local", "region": "local"})
    cursor = clouddriver.db["clouddriver_local_instances"].find({})
    after = {instance["_id"]: instance["pid"] async for instance in cursor}
    assert victim not in after and len(after) == 2
    assert not alive(before[victim])


async def test_clone_copies_the_source_with_overrides(clouddriver: Clouddriver) -> None:
    await clouddriver.ok("createServerGroup", cluster("v1", desired=1))
    answer = await clouddriver.ok(
        "cloneServerGroup",
        {
            "source": {"serverGroupName": "hello-prod-v000", "region": "local", "credentials": "local"},
            "credentials": "local",
            "capacity": {"min": 2, "max": 2, "desired": 2},
        },
    )
    assert answer.outputs["serverGroupName"] == "hello-prod-v001"
    assert len(await instance_pids(clouddriver, "hello-prod-v001")) == 2


async def test_rollback_restores_and_then_disables(clouddriver: Clouddriver) -> None:
    url = await balancer(clouddriver)
    await clouddriver.ok("createServerGroup", cluster("v1", loadBalancers=["hello-prod"], desired=1))
    await clouddriver.ok("createServerGroup", cluster("v2", loadBalancers=["hello-prod"], desired=1))
    await clouddriver.ok("disableServerGroup", {"serverGroupName": "hello-prod-v000", "credentials": "local"})
    await clouddriver.ok(
        "resizeServerGroup",
        {"serverGroupName": "hello-prod-v000", "credentials": "local", "capacity": {"min": 0, "max": 0, "desired": 0}},
    )
    answer = await clouddriver.ok(
        "rollbackServerGroup",
        {
            "credentials": "local",
            "rollbackType": "EXPLICIT",
            "rollbackContext": {
                "rollbackServerGroupName": "hello-prod-v001",
                "restoreServerGroupName": "hello-prod-v000",
            },
        },
    )
    assert answer.outputs["serverGroupName"] == "hello-prod-v000"
    versions = {(await get_json(url + "/"))[1]["version"] for _ in range(10)}
    assert versions == {"v1"}


async def test_cluster_operations_keep_the_newest(clouddriver: Clouddriver) -> None:
    for version in ("v1", "v2", "v3"):
        await clouddriver.ok("createServerGroup", cluster(version, desired=1))
    base = {"cluster": "hello-prod", "credentials": "local", "regions": ["local"]}
    disabled = await clouddriver.ok("disableCluster", {**base, "remainingEnabledServerGroups": 1})
    assert disabled.outputs["deploy.server.groups"] == {"local": ["hello-prod-v001", "hello-prod-v000"]}
    scaled = await clouddriver.ok("scaleDownCluster", {**base, "remainingFullSizeServerGroups": 2})
    assert scaled.outputs["deploy.server.groups"] == {"local": ["hello-prod-v000"]}
    assert await instance_pids(clouddriver, "hello-prod-v000") == []
    shrunk = await clouddriver.ok("shrinkCluster", {**base, "shrinkToSize": 1})
    assert sorted(shrunk.outputs["deploy.server.groups"]["local"]) == ["hello-prod-v000", "hello-prod-v001"]
    remaining = [g["_id"] async for g in clouddriver.db["clouddriver_local_server_groups"].find({})]
    assert remaining == ["local|local|hello-prod-v002"]


async def test_delete_load_balancer_stops_its_process(clouddriver: Clouddriver) -> None:
    url = await balancer(clouddriver, "hello-edge")
    document = await clouddriver.db["clouddriver_local_load_balancers"].find_one({})
    assert document is not None and alive(document["pid"])
    await clouddriver.ok("deleteLoadBalancer", {"loadBalancerName": "hello-edge", "credentials": "local"})
    assert not alive(document["pid"])
    assert url.startswith("http://127.0.0.1:")


async def test_find_image_from_a_cluster_and_from_tags(clouddriver: Clouddriver) -> None:
    await clouddriver.ok(
        "createServerGroup", cluster("v1", desired=1, imageName="hello-1.0", tags={"appversion": "hello-1.0"})
    )
    from_cluster = await clouddriver.ok("findImage", {"cluster": "hello-prod", "credentials": "local"})
    assert from_cluster.outputs["deploymentDetails"][0]["imageName"] == "hello-1.0"
    from_tags = await clouddriver.ok(
        "findImage", {"packageName": "hello", "tags": {"appversion": "hello-1.0"}, "credentials": "local"}
    )
    assert from_tags.outputs["deploymentDetails"][0]["imageId"] == "hello-1.0"


async def test_an_unhealthy_version_fails_the_create(clouddriver: Clouddriver) -> None:
    context = cluster("v3", desired=1, waitForUpTimeoutSeconds=2)
    context["env"]["HELLO_FAIL_HEALTH"] = "1"
    answer = await clouddriver.run("createServerGroup", context)
    assert answer.status == "TERMINAL"
    assert answer.error is not None and "0 of 1 instances healthy" in answer.error


async def test_bad_input_fails_naming_the_key(clouddriver: Clouddriver) -> None:
    missing = await clouddriver.run("resizeServerGroup", {"credentials": "local", "capacity": {"desired": 1}})
    assert missing.status == "TERMINAL" and "'serverGroupName'" in (missing.error or "")
    unknown = await clouddriver.run("createServerGroup", {**cluster("v1"), "credentials": "nowhere"})
    assert unknown.status == "TERMINAL" and "'nowhere'" in (unknown.error or "")
    no_command = await clouddriver.run("createServerGroup", {**cluster("v1"), "command": None})
    assert no_command.status == "TERMINAL" and "'command'" in (no_command.error or "")
    other = await clouddriver.run("bakeImage", {})
    assert other.status == "TERMINAL" and "bakeImage" in (other.error or "")


async def test_a_redelivered_create_makes_one_server_group(clouddriver: Clouddriver) -> None:
    command = clouddriver.command("createServerGroup", cluster("v1", desired=1))
    await clouddriver.send(command)
    await clouddriver.send(command)
    first = await clouddriver.answer(command)
    await clouddriver.send(command)
    deadline = asyncio.get_running_loop().time() + 10
    while len(clouddriver.answers(command)) < 2:
        assert asyncio.get_running_loop().time() < deadline, "a redelivered finished command is answered again"
        await asyncio.sleep(0.02)
    groups = [g["_id"] async for g in clouddriver.db["clouddriver_local_server_groups"].find({})]
    assert groups == ["local|local|hello-prod-v000"]
    assert all(answer == first for answer in clouddriver.answers(command))
    assert clouddriver.heartbeats(command), "a create sends heartbeats while it works"
