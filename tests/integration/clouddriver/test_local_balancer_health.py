"""A ``local`` instance is Up only once its load balancer has seen it healthy.

Clouddriver checked an instance's health itself, while the balancer checks it on its own schedule;
a red/black deploy that saw the new server group Up could disable the old one before the balancer
had found a new instance healthy, and requests failed with 503 in between (seen under load in
``test_deploy_crash.py``). Here the balancer is frozen (SIGSTOP) after it was given the new
instances, so it cannot see them come up: the create must not finish until it can.
"""

from __future__ import annotations

import asyncio
import os
import signal

from tests.integration.clouddriver.conftest import Clouddriver, cluster, get_json

INSTANCES = "clouddriver_local_instances"


async def test_a_create_waits_until_the_load_balancer_sees_its_instances_healthy(clouddriver: Clouddriver) -> None:
    upserted = await clouddriver.ok("upsertLoadBalancer", {"name": "hello-prod", "credentials": "local"})
    url = upserted.outputs["loadBalancers"]["local"]["hello-prod"]["url"]
    balancer = await clouddriver.db["clouddriver_local_load_balancers"].find_one({"name": "hello-prod"})
    assert balancer is not None
    context = cluster("v1", desired=1, loadBalancers=["hello-prod"])
    context["env"]["HELLO_START_DELAY_MS"] = "500"
    create = clouddriver.command("createServerGroup", context)
    await clouddriver.send(create)
    deadline = asyncio.get_running_loop().time() + 15
    # the balancer has been given the new instance once the create waits for it to come up
    while not any("instances healthy" in (beat.progress or "") for beat in clouddriver.heartbeats(create)):
        assert asyncio.get_running_loop().time() < deadline, "the create did not start waiting for its instance"
        await asyncio.sleep(0.02)
    instance = await clouddriver.db[INSTANCES].find_one({})
    assert instance is not None
    os.kill(balancer["pid"], signal.SIGSTOP)
    try:
        while True:  # the instance comes up on its own health check...
            try:
                status, _ = await get_json(f"http://127.0.0.1:{instance['port']}/health")
                if status == 200:
                    break
            except OSError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "the instance never became healthy"
            await asyncio.sleep(0.05)
        await asyncio.sleep(3.0)  # ...and the create, polling every 0.5 s, would have finished by now
        assert clouddriver.answers(create) == [], "the create finished before the balancer saw the instance healthy"
    finally:
        os.kill(balancer["pid"], signal.SIGCONT)
    answer = await clouddriver.answer(create, timeout=20)
    assert answer.status == "SUCCEEDED", answer.error
    status, body = await get_json(url + "/")
    assert (status, body["version"]) == (200, "v1")
