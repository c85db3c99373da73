"""A red/black deploy done with raw operations under constant load drops no request.

v1 serves behind a local load balancer while clients send requests without pause; v2 is created
behind the same balancer (taking traffic once healthy), v1 is disabled (drained: the operation
returns once its requests in flight finished) and then destroyed. Every request must succeed.
"""

from __future__ import annotations

import asyncio

from tests.integration.clouddriver.conftest import Clouddriver, cluster
from tests.integration.clouddriver.load import Load


async def test_red_black_under_load_drops_no_request(clouddriver: Clouddriver) -> None:
    upserted = await clouddriver.ok("upsertLoadBalancer", {"name": "hello-prod", "credentials": "local"})
    url = upserted.outputs["loadBalancers"]["local"]["hello-prod"]["url"] + "/"
    slow = {"HELLO_DELAY_MS": "20"}
    v1 = cluster("v1", loadBalancers=["hello-prod"])
    v1["env"].update(slow)
    await clouddriver.ok("createServerGroup", v1)
    load = Load(url)
    generator = asyncio.create_task(load.run(clients=8))
    try:
        await load.until_served("v1", 20, timeout=5)
        v2 = cluster("v2", loadBalancers=["hello-prod"])
        v2["env"].update(slow)
        created = await clouddriver.ok("createServerGroup", v2)
        assert created.outputs["source"]["serverGroupName"] == "hello-prod-v000"
        await clouddriver.ok("enableServerGroup", {"serverGroupName": "hello-prod-v001", "credentials": "local"})
        await clouddriver.ok("disableServerGroup", {"serverGroupName": "hello-prod-v000", "credentials": "local"})
        after_disable = load.versions["v1"]
        await load.until_served("v2", 50)
        assert load.versions["v1"] == after_disable, "a disabled server group took no new request"
        await clouddriver.ok("destroyServerGroup", {"serverGroupName": "hello-prod-v000", "credentials": "local"})
        await load.until_served("v2", 20)
    finally:
        load.stopping.set()
        await generator
    assert load.failures == []
    assert load.versions["v1"] > 0 and load.versions["v2"] > 0
    print(f"requests served: {dict(load.versions)}, failed: {len(load.failures)}")
