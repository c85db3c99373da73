"""What a restarted Clouddriver does with the ``local`` provider's half-done work (fast, in process).

A Clouddriver killed while stopping instances (a scale-down, a terminate, a destroy) has marked
them ``stopping`` and taken them out of the load balancer, but may not have signalled or waited
for them yet. No capacity counts a stopping instance, so unless the next Clouddriver finishes the
stop the processes run on for ever, recorded but never served (found by
``test_deploy_crash.py::...[mid-scaleDownCluster]``). And a server group being destroyed keeps no
capacity, or the next Clouddriver would start its instances again before the resumed destroy
stops them once more.
"""

from __future__ import annotations

import asyncio
import sys

from tests.integration.clouddriver.conftest import HELLO, Clouddriver, cluster
from workers.clouddriver.local import processes

GROUPS = "clouddriver_local_server_groups"
INSTANCES = "clouddriver_local_instances"


async def test_a_restart_finishes_stopping_the_instances_a_dead_clouddriver_was_stopping(
    clouddriver: Clouddriver,
) -> None:
    await clouddriver.ok("upsertLoadBalancer", {"name": "hello-prod", "credentials": "local"})
    created = await clouddriver.ok("createServerGroup", cluster("v1", desired=2, loadBalancers=["hello-prod"]))
    await clouddriver.stop_host()
    # the state a Clouddriver SIGKILLed in the middle of a scale-down to 0 leaves behind: the new
    # capacity stored, the instances marked stopping, their processes still running
    zero = {"min": 0, "max": 0, "desired": 0}
    await clouddriver.db[GROUPS].update_one({"name": created.outputs["serverGroupName"]}, {"$set": {"capacity": zero}})
    await clouddriver.db[INSTANCES].update_many({}, {"$set": {"stopping": True}})
    owner = await clouddriver.owner()
    assert len([p for p in processes.owned_processes(owner) if not p.startswith("lb-")]) == 2

    await clouddriver.start_host()
    deadline = asyncio.get_running_loop().time() + 15
    while [p for p in processes.owned_processes(owner) if not p.startswith("lb-")] or await clouddriver.db[
        INSTANCES
    ].count_documents({}):
        assert asyncio.get_running_loop().time() < deadline, "the stopping instances were left running"
        await asyncio.sleep(0.05)
    assert list(processes.owned_processes(owner)) == [
        (await clouddriver.db["clouddriver_local_load_balancers"].find_one({}) or {})["balancer_id"]
    ]


async def test_a_destroy_resumed_after_a_crash_starts_no_instance_of_the_group_it_destroys(
    clouddriver: Clouddriver,
) -> None:
    stubborn = [
        sys.executable,
        "-c",
        "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "subprocess.call(sys.argv[1:]); time.sleep(60)",
        *HELLO,
    ]
    await clouddriver.stop_host()
    await clouddriver.start_host(lease_seconds=1.0)  # so the next host takes the destroy over a second after
    created = await clouddriver.ok(
        "createServerGroup", cluster("v1", desired=2, command=stubborn, stopTimeoutSeconds=2)
    )
    name = created.outputs["serverGroupName"]
    destroy = clouddriver.command("destroyServerGroup", {"serverGroupName": name, "credentials": "local"})
    await clouddriver.send(destroy)
    deadline = asyncio.get_running_loop().time() + 15
    while await clouddriver.db[INSTANCES].count_documents({"stopping": True}) < 2:
        assert asyncio.get_running_loop().time() < deadline, "the destroy did not start stopping the instances"
        await asyncio.sleep(0.02)
    await clouddriver.stop_host()  # its operation dies mid-stop, as with SIGKILL: the journal entry stays RUNNING
    assert clouddriver.answers(destroy) == []

    await clouddriver.start_host(lease_seconds=1.0)
    answer = await clouddriver.answer(destroy, timeout=20)
    assert answer.status == "SUCCEEDED", answer.error
    assert await clouddriver.db[GROUPS].count_documents({}) == 0
    assert processes.owned_processes(await clouddriver.owner()) == {}
    started = sorted(path.name for path in (clouddriver.work_dir / "local" / "logs").glob(f"{name}-*.log"))
    assert len(started) == 2, f"instances started for a server group being destroyed: {started}"
