"""The local provider runs only what its account allows, in a clean environment, within a capacity,
and a cancel or a destroy stops a deploy that is still creating instances. MemoryBus and RabbitMQ.

``sandbox`` and ``prod`` are fenced to ``examples/`` (``prod`` allows 3 instances per server
group), ``bare`` has no ``local`` settings at all. Commands go straight onto the bus as Orca's do,
with an authority that may WRITE the account, so only the fence (or the limit) refuses them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase
from ulid import ULID

from schemas.json_types import Json
from tests.conftest import AMQP_URL
from tests.security.authority_world import ACCOUNTS, EXAMPLES, ROOT, SHOP, World, authority, headers, running_world
from workers.clouddriver.local import processes

pytestmark = pytest.mark.asyncio(loop_scope="module")

HELLO = ["{python}", str(EXAMPLES / "hello" / "app.py"), "--port", "{port}"]
SECRET = "gnk_this-token-must-never-reach-a-process"
ALLOWED_ENVIRONMENT = {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR"}


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)]
)
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    work_dir: Path = tmp_path_factory.mktemp("fence")
    vhost = f"fence-{str(ULID()).lower()}"
    accounts = [*ACCOUNTS, {"name": "bare", "cloudProvider": "local"}]
    # Clouddriver's own environment holds what no deployed process may see
    saved = {name: os.environ.get(name) for name in ("GENNAKER_TOKEN", "GENNAKER_AMQP_URL", "API_SECRET")}
    os.environ.update(GENNAKER_TOKEN=SECRET, GENNAKER_AMQP_URL=f"amqp://u:{SECRET}@x/", API_SECRET=SECRET)
    try:
        async with running_world(request.param, work_dir, amqp_url=AMQP_URL, vhost=vhost, accounts=accounts) as world:
            await world.create_application("shop", SHOP)
            yield world
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def deploy(account: str = "sandbox", stack: str | None = None, desired: int = 1, **config: Any) -> Json:
    return {
        "application": "shop",
        "stack": stack or f"s{str(ULID()).lower()[-6:]}",
        "credentials": account,
        "cloudProvider": "local",
        "capacity": {"min": desired, "max": desired, "desired": desired},
        "command": HELLO,
        "env": {"HELLO_VERSION": "fenced"},
        "stopTimeoutSeconds": 3,
        "waitForUpTimeoutSeconds": 30,
        **config,
    }


async def owned(db: AsyncDatabase[Json]) -> dict[str, list[int]]:
    document = await db["clouddriver_local_meta"].find_one({"_id": "owner"})
    return processes.owned_processes(str(document["token"])) if document else {}


@pytest.mark.parametrize(
    ("account", "config", "reason"),
    [
        ("sandbox", {"command": ["/bin/sh", "-c", "id > /tmp/owned"]}, "account 'sandbox' may not run '/bin/sh'"),
        ("sandbox", {"command": ["sh", "-c", "id"]}, "account 'sandbox' may not run 'sh'"),
        ("sandbox", {"command": ["{python}", "-c", "import os"]}, "may not run Python with '-c'"),
        ("sandbox", {"command": ["{python}", str(ROOT / "gennaker" / "cli.py")]}, "may not run the Python script"),
        ("sandbox", {"workingDir": "/tmp"}, "may not run in workingDir '/tmp'"),
        ("sandbox", {"env": {"LD_PRELOAD": "/tmp/evil.so"}}, "does not let 'env' set ['LD_PRELOAD']"),
        ("sandbox", {"env": {"PYTHONPATH": "/tmp/evil"}}, "does not let 'env' set ['PYTHONPATH']"),
        ("sandbox", {"env": {"GENNAKER_LOCAL_OWNER": "x"}}, "'env' may not set Gennaker's own variables"),
        ("bare", {}, "account 'bare' runs nothing until its local settings say what may run"),
    ],
    ids=[
        "/bin/sh",
        "sh on PATH",
        "python -c",
        "script outside",
        "workingDir",
        "LD_PRELOAD",
        "PYTHONPATH",
        "ours",
        "bare",
    ],
)
async def test_the_fence_refuses_what_the_account_does_not_allow(
    world: World, account: str, config: Json, reason: str
) -> None:
    before = await owned(world.db)
    answer = await world.operate(authority("admin"), "createServerGroup", deploy(account, **config))
    assert answer["status"] == "TERMINAL" and reason in answer["error"], answer
    assert await owned(world.db) == before, "a refused command started a process"


async def test_a_deployed_process_gets_a_clean_environment(world: World) -> None:
    answer = await world.operate(authority("owner"), "createServerGroup", deploy(stack="clean"))
    assert answer["status"] == "SUCCEEDED", answer
    instance = await world.db["clouddriver_local_instances"].find_one({"server_group": {"$regex": "shop-clean-v000$"}})
    assert instance is not None and instance["pid"]
    raw = await asyncio.to_thread(Path(f"/proc/{instance['pid']}/environ").read_bytes)
    variables = dict(item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    names = {name.decode() for name in variables}
    assert names <= ALLOWED_ENVIRONMENT | {"HELLO_VERSION", "PORT", "CLOUDDRIVER_LOCAL_ID", "CLOUDDRIVER_LOCAL_OWNER"}
    assert not [name for name in names if name.startswith("GENNAKER_")], names
    assert not [name for name, value in variables.items() if SECRET.encode() in value], "a secret reached the process"
    assert variables[b"HELLO_VERSION"] == b"fenced"


@pytest.mark.parametrize(
    ("account", "capacity", "limit"),
    [("prod", {"min": 1, "max": 4, "desired": 1}, 3), ("sandbox", {"min": 51, "max": 51, "desired": 51}, 50)],
    ids=["maxCapacity", "local default"],
)
async def test_capacity_is_bounded_per_account(world: World, account: str, capacity: Json, limit: int) -> None:
    before = await owned(world.db)
    answer = await world.operate(authority("admin"), "createServerGroup", {**deploy(account), "capacity": capacity})
    assert answer["status"] == "TERMINAL"
    assert f"account {account!r} allows at most {limit} per server group (its maxCapacity setting)" in answer["error"]
    assert await owned(world.db) == before


async def test_a_resize_is_bounded_too(world: World) -> None:
    made = await world.operate(authority("admin"), "createServerGroup", deploy("prod", stack="resized"))
    assert made["status"] == "SUCCEEDED", made
    context = {
        "serverGroupName": "shop-resized-v000",
        "credentials": "prod",
        "capacity": {"min": 9, "max": 9, "desired": 9},
    }
    answer = await world.operate(authority("admin"), "resizeServerGroup", context)
    assert answer["status"] == "TERMINAL" and "allows at most 3" in answer["error"], answer
    groups = [g for g in await world.server_groups("shop") if g["name"] == "shop-resized-v000"]
    assert [(g["capacity"]["desired"], len(g["instances"])) for g in groups] == [(1, 1)]


def target(name: str) -> Json:
    return {"serverGroupName": name, "credentials": "sandbox"}


async def instances_of(world: World, name: str) -> list[Json]:
    return [i async for i in world.db["clouddriver_local_instances"].find({"server_group": {"$regex": f"{name}$"}})]


async def test_cancelling_the_execution_stops_a_deploy_still_creating_instances(world: World) -> None:
    stack = "cancelled"
    stage = {"refId": "1", "type": "createServerGroup", "name": "deploy", **deploy(stack=stack, desired=3)}
    stage["env"] = {"HELLO_FAIL_HEALTH": "1"}  # never healthy: the create waits for its instances
    stage["waitForUpTimeoutSeconds"] = 300
    config_id = await world.save_pipeline({"application": "shop", "name": f"deploy-{stack}", "stages": [stage]})
    response = await world.client.post(f"/pipelines/shop/{config_id}", json={}, headers=headers("owner"))
    assert response.status == 202, await response.text()
    execution_id = str((await response.json())["ref"]).rsplit("/", 1)[1]
    name = f"shop-{stack}-v000"
    await world.until(lambda: instances_of(world, name), lambda found: len(found) == 3, timeout=30)

    cancel = await world.client.put(f"/pipelines/{execution_id}/cancel", headers=headers("owner"))
    assert cancel.status in (200, 202), await cancel.text()

    async def journal() -> Json:
        return await world.db["clouddriver_operations"].find_one({"command.execution_id": execution_id}) or {}

    entry = await world.until(journal, lambda found: found.get("status") == "CANCELED", timeout=20)
    assert entry["error"].startswith("canceled")
    group = await world.db["clouddriver_local_server_groups"].find_one({"name": name})
    assert group is not None and group["capacity"]["desired"] == len(await instances_of(world, name))
    # destroying it stops what the cancelled create started, and nothing starts them again
    destroyed = await world.operate(
        authority("owner"), "destroyServerGroup", {"serverGroupName": name, "credentials": "sandbox"}
    )
    assert destroyed["status"] == "SUCCEEDED", destroyed
    await asyncio.sleep(1.5)
    assert await instances_of(world, name) == []


async def test_destroying_a_server_group_still_being_created_stops_it_for_good(world: World) -> None:
    stack = "raced"
    name = f"shop-{stack}-v000"
    context = {**deploy(stack=stack, desired=3), "env": {"HELLO_FAIL_HEALTH": "1"}, "waitForUpTimeoutSeconds": 300}
    creating = asyncio.create_task(world.operate(authority("owner"), "createServerGroup", context))
    await world.until(lambda: instances_of(world, name), lambda found: len(found) == 3, timeout=30)
    pids = [i["pid"] for i in await instances_of(world, name)]

    destroyed = await world.operate(
        authority("owner"), "destroyServerGroup", {"serverGroupName": name, "credentials": "sandbox"}
    )
    assert destroyed["status"] == "SUCCEEDED", destroyed
    created = await asyncio.wait_for(creating, 30)
    assert created["status"] == "TERMINAL" and "not found" in created["error"], created
    await asyncio.sleep(1.5)
    assert await instances_of(world, name) == []
    assert not [pid for pid in pids if pid and processes.is_alive(pid, *await owner_and_id(world, pid))]


async def owner_and_id(world: World, pid: int) -> tuple[str, str]:
    document = await world.db["clouddriver_local_meta"].find_one({"_id": "owner"})
    assert document is not None
    running = {p: process_id for process_id, found in (await owned(world.db)).items() for p in found}
    return str(document["token"]), running.get(pid, "gone")
