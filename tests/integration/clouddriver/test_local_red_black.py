"""A red/black deploy done with raw operations under constant load drops no request.

v1 serves behind a local load balancer while clients send requests without pause; v2 is created
behind the same balancer (taking traffic once healthy), v1 is disabled (drained: the operation
returns once its requests in flight finished) and then destroyed. Every request must succeed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from tests.integration.clouddriver.conftest import Clouddriver, cluster


@dataclass
class Load:
    """Clients sending GET / through the balancer until stopped; counts answers by version."""

    url: str
    versions: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def client(self, session: aiohttp.ClientSession) -> None:
        while not self.stopping.is_set():
            try:
                async with session.get(self.url) as response:
                    body = await response.json(content_type=None)
                    if response.status != 200:
                        self.failures.append(f"{response.status}: {body}")
                    else:
                        self.versions[body["version"]] += 1
            except (aiohttp.ClientError, TimeoutError) as error:
                self.failures.append(repr(error))

    async def run(self, clients: int) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            await asyncio.gather(*(self.client(session) for _ in range(clients)))


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
        deadline = asyncio.get_running_loop().time() + 5
        while load.versions["v1"] < 20:
            assert asyncio.get_running_loop().time() < deadline, load.failures[:3]
            await asyncio.sleep(0.02)
        v2 = cluster("v2", loadBalancers=["hello-prod"])
        v2["env"].update(slow)
        created = await clouddriver.ok("createServerGroup", v2)
        assert created.outputs["source"]["serverGroupName"] == "hello-prod-v000"
        await clouddriver.ok("enableServerGroup", {"serverGroupName": "hello-prod-v001", "credentials": "local"})
        await clouddriver.ok("disableServerGroup", {"serverGroupName": "hello-prod-v000", "credentials": "local"})
        after_disable = load.versions["v1"]
        served_v2 = load.versions["v2"]
        while load.versions["v2"] < served_v2 + 50:
            await asyncio.sleep(0.02)
        assert load.versions["v1"] == after_disable, "a disabled server group took no new request"
        await clouddriver.ok("destroyServerGroup", {"serverGroupName": "hello-prod-v000", "credentials": "local"})
        served_v2 = load.versions["v2"]
        while load.versions["v2"] < served_v2 + 20:
            await asyncio.sleep(0.02)
    finally:
        load.stopping.set()
        await generator
    assert load.failures == []
    assert load.versions["v1"] > 0 and load.versions["v2"] > 0
    print(f"requests served: {dict(load.versions)}, failed: {len(load.failures)}")
