"""What a restarted Clouddriver does with the ``local`` provider's half-done work (fast, in process).

A Clouddriver killed while stopping instances (a scale-down, a terminate) has marked them
``stopping`` and taken them out of the load balancer, but may not have signalled or waited for
them yet. No capacity counts a stopping instance, so unless the next Clouddriver finishes the stop
the processes run on for ever, recorded but never served (found by
``test_deploy_crash.py::...[mid-scaleDownCluster]``).
"""

from __future__ import annotations

import asyncio

from tests.integration.clouddriver.conftest import Clouddriver, cluster
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
