"""Clouddriver SIGKILLed in the middle of a red/black deploy pipeline: the deploy still finishes, cleanly.

Orca runs in this process on RabbitMQ (a virtual host of our own); ``gennaker worker clouddriver``
runs as a process on the same virtual host over a mongoeco wire server, exactly as deployed. A
pipeline upserts a ``local`` load balancer and deploys v1 of the example app behind it; then a
red/black deploy of v2 (``scaleDown``) starts while clients send requests through the balancer
the whole time, and Clouddriver is killed with SIGKILL:

* while the ``createServerGroup`` stage waits for v2's instances to come up,
* while the ``disableCluster`` step drains the requests in flight to v1 (a slow v1), or
* while the ``scaleDownCluster`` step waits for v1's instances to stop (a v1 that ignores SIGTERM,
  so Clouddriver must SIGKILL it after ``stopTimeoutSeconds``).

A new Clouddriver then takes the dead one's journal entry over, adopts the processes it started
and answers the same attempt of the same task once; Orca never noticed more than a pause. The
execution SUCCEEDS, the balancer serves only v2, no client saw a failed request, and every
process of the store is one Clouddriver records (v2's instances and the balancer; v1 scaled to 0).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from schemas.clouddriver_operations import TaskCompleted
from schemas.json_types import Json
from tests.broker import own_vhost
from tests.integration.clouddriver.conftest import HELLO, Clouddriver
from tests.integration.clouddriver.killable import LOCAL_ACCOUNTS, killable_clouddriver, start_clouddriver
from tests.integration.clouddriver.load import Load
from tests.integration.orca.conftest import Orca, pipeline, stage, summary
from tests.integration.test_up import Process
from workers.clouddriver.local import processes
from workers.orca.engine import EngineOptions

pytestmark = pytest.mark.amqp
ENGINE = EngineOptions(
    pipeline_triggers=False,
    timer_interval=0.05,
    outbox_interval=0.2,
    outbox_grace_ms=500,
    reconcile_interval=0.5,
    stall_ms=2_000,
    # a lost strategy step fails the test in seconds, not after the default minute
    external_heartbeat_timeouts={"clouddriver": 15_000},
)
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "subprocess.call(sys.argv[1:]); time.sleep(60)",
    *HELLO,
]
"""The example app under a parent that ignores SIGTERM and lingers: an instance slow to stop, which
Clouddriver must SIGKILL after ``stopTimeoutSeconds``."""
GROUPS = "clouddriver_local_server_groups"
INSTANCES = "clouddriver_local_instances"


@dataclass
class System:
    """Orca in process, Clouddriver as a process we can kill, and what we need to watch them."""

    orca: Orca
    driver: Clouddriver
    env: dict[str, str]
    clouddriver: Process | None = None

    @property
    def db(self) -> AsyncDatabase[Json]:
        return self.driver.db

    async def start_clouddriver(self) -> None:
        self.clouddriver = await start_clouddriver(self.env)

    async def kill_clouddriver(self) -> None:
        assert self.clouddriver is not None
        await self.clouddriver.kill()
        assert self.clouddriver.process.returncode == -9

    def logs(self) -> str:
        return self.clouddriver.logs() if self.clouddriver is not None else ""

    async def run(self, config: Json, *, timeout: float = 40) -> Json:
        execution_id = await self.orca.start(config)
        return await self.orca.finished(execution_id, timeout=timeout)


@pytest.fixture
def vhost(amqp_url: str, unique: str) -> Iterator[str]:
    """A virtual host of our own, so no other test's Clouddriver or Orca takes our commands."""
    with own_vhost(amqp_url, f"gennaker-deploy-crash-{unique}") as url:
        yield url


@pytest.fixture
async def system(vhost: str, tmp_path: Path) -> AsyncIterator[System]:
    async with killable_clouddriver(vhost, tmp_path, LOCAL_ACCOUNTS) as (driver, env):
        orca = Orca(driver.bus, driver.db, ENGINE)
        await orca.start_host()
        system = System(orca, driver, env)
        try:
            yield system
        finally:
            if system.clouddriver is not None:
                await system.clouddriver.stop()
            await orca.stop_host()


def balancer_pipeline() -> Json:
    balancer = {"name": "hello-prod", "credentials": "local", "cloudProvider": "local"}
    return pipeline(stage("1", "upsertLoadBalancer", loadBalancers=[balancer]), application="hello", name="lb")


def deploy_pipeline(version: str, *, command: list[str] = HELLO, **env: str) -> Json:
    """A red/black deploy of ``version`` of the example app behind ``hello-prod``, v1 scaled down after."""
    cluster = {
        "application": "hello",
        "stack": "prod",
        "account": "local",
        "cloudProvider": "local",
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "loadBalancers": ["hello-prod"],
        "strategy": "redblack",
        "scaleDown": True,
        "rollback": {"onFailure": True},
        "waitForUpTimeoutSeconds": 20,
        "taskHeartbeatTimeoutMs": 15_000,
        "command": command,
        "env": {"HELLO_VERSION": version, **env},
        "healthCheckPath": "/health",
        "stopTimeoutSeconds": 3,
    }
    return pipeline(stage("1", "deploy", clusters=[cluster]), application="hello", name=f"deploy {version}")


def of_type(execution: Json, stage_type: str) -> Json:
    found = [s for s in execution["stages"] if s["type"] == stage_type]
    assert len(found) == 1, [s["type"] for s in execution["stages"]]
    return found[0]


def planned(execution: Json, stage_type: str) -> Json | None:
    return next((s for s in execution["stages"] if s["type"] == stage_type), None)


async def until(check: Callable[[], Awaitable[bool]], what: str, system: System, *, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"{what} not seen within {timeout}s\n{system.logs()}"
        await asyncio.sleep(0.02)


async def mid_create(system: System, execution_id: str) -> None:
    """Orca shows the create RUNNING with Clouddriver's progress while v2's instances start."""

    async def seen() -> bool:
        execution = await system.orca.get(execution_id)
        create = planned(execution, "createServerGroup")
        if create is None or create["status"] != "RUNNING" or "progress" not in create["context"]:
            return False
        started = {"server_group": "local|local|hello-prod-v001", "pid": {"$ne": None}}
        return await system.db[INSTANCES].count_documents(started) == 2

    await until(seen, "createServerGroup of v2 under way", system)


async def mid_disable(system: System, execution_id: str) -> None:
    """Orca shows ``disableCluster`` RUNNING and Clouddriver has taken v1 out, draining its requests."""

    async def seen() -> bool:
        execution = await system.orca.get(execution_id)
        disable = planned(execution, "disableCluster")
        if disable is None or disable["status"] != "RUNNING":
            return False
        v1 = await system.db[GROUPS].find_one({"_id": "local|local|hello-prod-v000"})
        return v1 is not None and v1["disabled"] is True

    await until(seen, "disableCluster of v1 draining", system)


async def mid_scale_down(system: System, execution_id: str) -> None:
    """Orca shows ``scaleDownCluster`` RUNNING and Clouddriver waits for v1's instances to stop."""

    async def seen() -> bool:
        execution = await system.orca.get(execution_id)
        scale_down = planned(execution, "scaleDownCluster")
        if scale_down is None or scale_down["status"] != "RUNNING":
            return False
        stopping = {"server_group": "local|local|hello-prod-v000", "stopping": True}
        return await system.db[INSTANCES].count_documents(stopping) == 2

    await until(seen, "scaleDownCluster of v1 stopping its instances", system)


async def one_answer_per_attempt(driver: Clouddriver) -> None:
    """Every task attempt was answered exactly once, and no attempt but the first was needed."""
    completed = [
        TaskCompleted.model_validate(e.data) for e in driver.events if e.type == TaskCompleted.cloudevent_type()
    ]
    counts = Counter((answer.stage_id, answer.task_id, answer.attempt) for answer in completed)
    assert all(count == 1 for count in counts.values()), counts
    assert {answer.attempt for answer in completed} == {1}


@pytest.mark.parametrize(
    ("moment", "v1"),
    [
        (mid_create, {}),
        (mid_disable, {"HELLO_DELAY_MS": "1200"}),  # slow v1: requests in flight to drain when it is disabled
        (mid_scale_down, {"command": STUBBORN}),  # v1 slow to stop: its instances outlive SIGTERM
    ],
    ids=["mid-createServerGroup", "mid-disableCluster", "mid-scaleDownCluster"],
)
async def test_sigkill_mid_red_black_then_restart_finishes_the_deploy(
    system: System, moment: Callable[[System, str], Awaitable[None]], v1: dict[str, Any]
) -> None:
    await system.start_clouddriver()
    balancer = await system.run(balancer_pipeline())
    assert balancer["status"] == "SUCCEEDED", (summary(balancer), system.logs())
    url = balancer["stages"][0]["outputs"]["loadBalancers"]["local"]["hello-prod"]["url"] + "/"
    first = await system.run(deploy_pipeline("v1", **v1))
    assert first["status"] == "SUCCEEDED", (summary(first), system.logs())

    load = Load(url)
    generator = asyncio.create_task(load.run(clients=4))
    try:
        await load.until_served("v1", 8)
        execution_id = await system.orca.start(deploy_pipeline("v2", HELLO_START_DELAY_MS="1500", HELLO_DELAY_MS="5"))
        await moment(system, execution_id)
        killed_pid = system.clouddriver.process.pid if system.clouddriver else None
        await system.kill_clouddriver()
        at_kill = await system.orca.get(execution_id)
        assert at_kill["status"] == "RUNNING", summary(at_kill)
        running = await system.db["clouddriver_operations"].find_one({"status": "RUNNING"})
        assert running is not None and running["owner"].split(":")[1] == str(killed_pid), running

        killed_at = asyncio.get_running_loop().time()
        await system.start_clouddriver()
        second = await system.orca.finished(execution_id, timeout=40)
        recovered = asyncio.get_running_loop().time() - killed_at
        assert second["status"] == "SUCCEEDED", (
            summary(second),
            [s["context"].get("exception") for s in second["stages"]],
        )
        steps = [s["type"] for s in second["stages"] if s.get("parentStageId")]
        assert steps[:2] == ["createServerGroup", "disableCluster"] and "scaleDownCluster" in steps, steps
        assert of_type(second, "createServerGroup")["outputs"]["serverGroupName"] == "hello-prod-v001"

        await load.until_served("v2", 20)
        v1_after = load.versions["v1"]
        await load.until_served("v2", 20)
        assert load.versions["v1"] == v1_after, "v1 still served after the deploy of v2"
    finally:
        load.stopping.set()
        await generator
    assert load.failures == [], load.failures[:5]
    await one_answer_per_attempt(system.driver)

    groups = {g["name"]: g async for g in system.db[GROUPS].find({})}
    assert set(groups) == {"hello-prod-v000", "hello-prod-v001"}
    assert (groups["hello-prod-v000"]["disabled"], groups["hello-prod-v000"]["capacity"]["desired"]) == (True, 0)
    assert (groups["hello-prod-v001"]["disabled"], groups["hello-prod-v001"]["capacity"]["desired"]) == (False, 2)
    instances = {i["_id"]: i["server_group"] async for i in system.db[INSTANCES].find({})}
    assert sorted(instances.values()) == ["local|local|hello-prod-v001"] * 2, instances
    lb = await system.db["clouddriver_local_load_balancers"].find_one({"name": "hello-prod"})
    assert lb is not None
    running_now = processes.owned_processes(await system.driver.owner())
    assert set(running_now) == {*instances, lb["balancer_id"]}, running_now
    assert all(len(pids) == 1 for pids in running_now.values()), running_now
    print(
        f"{moment.__name__}: deploy finished {recovered:.1f} s after the kill (restart included); "
        f"requests served {dict(load.versions)}, failed {len(load.failures)}"
    )
