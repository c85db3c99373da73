"""Clouddriver SIGKILLed in the middle of a deploy: after a restart the task finishes, nothing is orphaned.

``gennaker worker clouddriver`` runs as a process on RabbitMQ (a virtual host of our own) over a
mongoeco wire server, exactly as deployed. It is killed while a createServerGroup waits for its
instances to come up; the next Clouddriver sees the journal entry of a dead owner, resumes it from
its recorded decisions (same server group name), adopts the instances already started and answers
the task once. Every process the store started is then one Clouddriver records.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bus import Endpoint
from bus.amqp import AmqpBus
from tests.broker import own_vhost
from tests.integration.clouddriver.conftest import Clouddriver, cluster, get_json, stop_everything
from tests.integration.test_up import Process, cli_env
from tests.mongo import start_store
from workers.clouddriver.journal import entry_id
from workers.clouddriver.local import processes

pytestmark = pytest.mark.amqp
Json = dict[str, Any]


@pytest.fixture
def vhost_url(amqp_url: str, unique: str) -> Iterator[str]:
    """A virtual host of our own, so no other test's Clouddriver takes our commands."""
    with own_vhost(amqp_url, f"gennaker-clouddriver-{unique}") as url:
        yield url


@pytest.fixture
async def system(vhost_url: str, tmp_path: Path) -> AsyncIterator[tuple[Clouddriver, dict[str, str]]]:
    server, mongo = await start_store()
    bus = await AmqpBus.connect(vhost_url, source="/test")
    driver = Clouddriver(bus, mongo["gennaker"], tmp_path)
    tap = await bus.consume(
        Endpoint(service="t", kind="events", patterns=("clouddriver.task.*",), raw_handler=driver.tap, durable=False)
    )
    env = cli_env(
        GENNAKER_AMQP_URL=vhost_url,
        GENNAKER_MONGO_URL=str(server.address.uri),
        GENNAKER_DATA_DIR=str(tmp_path),
        GENNAKER_METRICS_PORT="0",
        GENNAKER_ACCOUNTS=json.dumps([{"name": "local", "cloudProvider": "local", "local": {"unrestricted": True}}]),
    )
    try:
        yield driver, env
    finally:
        await tap.stop()
        await bus.close()
        orphans = await stop_everything(driver.db)
        await mongo.close()
        await server.close()
        assert orphans == [], f"processes left outside Clouddriver's records: {orphans}"


async def start_clouddriver(env: dict[str, str]) -> Process:
    process = await Process.start("worker", "clouddriver", env=env)
    await process.wait_for_stderr("worker running")
    return process


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
