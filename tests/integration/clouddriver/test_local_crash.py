"""Clouddriver SIGKILLed in the middle of a deploy: after a restart the task finishes, nothing is orphaned.

``gennaker worker clouddriver`` runs as a process on RabbitMQ (a virtual host of our own) over a
mongoeco wire server, exactly as deployed. It is killed while a createServerGroup waits for its
instances to come up; the next Clouddriver sees the journal entry of a dead owner, resumes it from
its recorded decisions (same server group name), adopts the instances already started and answers
the task once. Every process the store started is then one Clouddriver records.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.broker import own_vhost
from tests.integration.clouddriver.conftest import Clouddriver, cluster, get_json
from tests.integration.clouddriver.killable import LOCAL_ACCOUNTS, killable_clouddriver, start_clouddriver
from workers.clouddriver.journal import entry_id
from workers.clouddriver.local import processes

pytestmark = pytest.mark.amqp


@pytest.fixture
def vhost_url(amqp_url: str, unique: str) -> Iterator[str]:
    """A virtual host of our own, so no other test's Clouddriver takes our commands."""
    with own_vhost(amqp_url, f"gennaker-clouddriver-{unique}") as url:
        yield url


@pytest.fixture
async def system(vhost_url: str, tmp_path: Path) -> AsyncIterator[tuple[Clouddriver, dict[str, str]]]:
    async with killable_clouddriver(vhost_url, tmp_path, LOCAL_ACCOUNTS) as world:
        yield world


async def test_sigkill_mid_create_then_restart_finishes_the_task(
    system: tuple[Clouddriver, dict[str, str]],
) -> None:
    driver, env = system
    first = await start_clouddriver(env)
    try:
        upserted = await driver.ok("upsertLoadBalancer", {"name": "hello-prod", "credentials": "local"})
        url = upserted.outputs["loadBalancers"]["local"]["hello-prod"]["url"]
        context = cluster("v1", desired=3, loadBalancers=["hello-prod"])
        context["env"]["HELLO_START_DELAY_MS"] = "1500"
        command = driver.command("createServerGroup", context)
        await driver.send(command)
        deadline = asyncio.get_running_loop().time() + 20
        while await driver.db["clouddriver_local_instances"].count_documents({"pid": {"$ne": None}}) < 3:
            assert asyncio.get_running_loop().time() < deadline, first.logs()
            await asyncio.sleep(0.02)
        assert driver.answers(command) == []
        await first.kill()
    finally:
        await first.kill()
    entry = await driver.db["clouddriver_operations"].find_one({"_id": entry_id(command)})
    assert entry is not None and entry["status"] == "RUNNING"
    second = await start_clouddriver(env)
    try:
        answer = await driver.answer(command, timeout=40)
        assert answer.status == "SUCCEEDED", answer.error
        assert answer.outputs["serverGroupName"] == "hello-prod-v000"
        groups = [g["_id"] async for g in driver.db["clouddriver_local_server_groups"].find({})]
        assert groups == ["local|local|hello-prod-v000"]
        owner = await driver.owner()
        recorded = {i["_id"] async for i in driver.db["clouddriver_local_instances"].find({})}
        assert len(recorded) == 3
        running = processes.owned_processes(owner)
        assert {process for process in running if not process.startswith("lb-")} == recorded
        status, body = await get_json(url + "/")
        assert (status, body["version"]) == (200, "v1")
        await asyncio.sleep(1.0)  # a redelivered command or a second resumption would answer again by now
        assert len(driver.answers(command)) == 1
    finally:
        await second.stop()
