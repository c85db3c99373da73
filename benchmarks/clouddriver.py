"""Clouddriver: cache read latency with 1,000 server groups, and time from a deploy command to serving.

Set-up: ``MemoryBus``, the embedded store (mongoeco's wire server over SQLite in a temp dir,
reached with PyMongo's async client, as ``gennaker up`` runs it), Clouddriver with the ``local``
provider, Front50 (Gate checks the application) and the gateway (authentication off).

* **Cache reads.** The cache collection is seeded with 1,000 server groups (10 applications x
  100, 3 instances each, as a refresh stores them). Timed ``--reads`` times each: an
  application's server groups (100) asked over the bus (``clouddriver.ListServerGroups``) and
  through Gate's ``GET /applications/{app}/serverGroups``, and one server group through
  ``GET /applications/{app}/serverGroups/{account}/{region}/{name}``. Baseline: the raw PyMongo
  ``find`` of the same documents on the same store.
* **Deploy to serving.** A local load balancer serves v1 of ``examples/hello`` (2 instances);
  then ``--deploys`` times a createServerGroup of the next version (2 instances) is sent as Orca
  sends it, and the time until the balancer answers with the new version is measured (a client
  polls it every 10 ms), beside the time until ``clouddriver.task.completed`` arrives.

    .venv/bin/python benchmarks/clouddriver.py [--reads 300] [--deploys 3]

The last line printed is one JSON object with every figure (milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from benchmarks.clouddriver_rig import TaskAnswers, embedded_clouddriver  # noqa: E402
from bus import MemoryBus  # noqa: E402
from bus.service import ServiceHost  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.config import GatewayConfig  # noqa: E402
from gennaker.logging import configure_logging  # noqa: E402
from schemas.authority import Authority  # noqa: E402
from schemas.clouddriver_cache import CachedResources, ListServerGroups  # noqa: E402
from workers.clouddriver.cache import COLLECTION, documents  # noqa: E402
from workers.clouddriver.local import processes  # noqa: E402
from workers.clouddriver.model import AccountSnapshot, Capacity, Instance, ServerGroup  # noqa: E402
from workers.clouddriver.provider import Account  # noqa: E402
from workers.front50 import worker as front50  # noqa: E402

Json = dict[str, Any]
HELLO = ["{python}", str(ROOT / "examples" / "hello" / "app.py"), "--port", "{port}"]
ACCOUNTS: list[Json] = [
    {"name": "local", "cloudProvider": "local", "local": {"artifactDirs": [str(ROOT / "examples")]}},
    {"name": "bench", "cloudProvider": "seeded"},
]
"""``bench`` holds the seeded server groups; no provider serves it, so no refresh replaces them."""


def percentiles(samples: list[float]) -> Json:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
    }


async def timed(times: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    """``call`` ``times`` times one after the other; each duration in seconds (after 10 warm-up calls)."""
    for _ in range(10):
        await call()
    samples: list[float] = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


def seed_documents() -> list[Json]:
    """1,000 server groups of 10 applications as a cache refresh stores them."""
    groups = []
    for app in range(10):
        for number in range(100):
            name = f"app{app}-prod-v{number:03d}"
            instances = tuple(
                Instance(id=f"{name}-{i}", zone="local", health_state="Up", health_type="LocalHealthCheck")
                for i in range(3)
            )
            groups.append(
                ServerGroup(
                    name=name,
                    account="bench",
                    region="local",
                    zones=("local",),
                    created_time=number,
                    capacity=Capacity(min=3, max=3, desired=3),
                    instances=instances,
                    load_balancers=(f"app{app}-prod",),
                    image={"imageId": "hello-1.0", "name": "hello-1.0"},
                    launch_config={"command": HELLO, "env": {"HELLO_VERSION": "v1"}},
                )
            )
    account = Account(name="bench", cloud_provider="local")
    return documents(account, "local", AccountSnapshot(server_groups=tuple(groups)))


async def cache_reads(bus: MemoryBus, db: Any, client: TestClient[Any, Any], reads: int) -> Json:
    """Bus, gateway and raw-find latencies over the seeded cache."""
    collection = db[COLLECTION]
    await collection.insert_many(seed_documents())

    async def over_bus() -> None:
        reply = await bus.ask(ListServerGroups(authority=Authority.anonymous_admin(), application="app3"), timeout=10)
        assert isinstance(reply, CachedResources) and len(reply.resources) == 100

    async def over_gate() -> None:
        response = await client.get("/applications/app3/serverGroups")
        assert response.status == 200 and len(await response.json()) == 100

    async def one_over_gate() -> None:
        response = await client.get("/applications/app3/serverGroups/bench/local/app3-prod-v042")
        assert response.status == 200

    async def raw_find() -> None:
        found = await collection.find({"kind": "serverGroup", "application": "app3"}, {"json": 1, "_id": 0}).to_list()
        assert len(found) == 100

    async def raw_find_one() -> None:
        assert await collection.find_one({"_id": "serverGroup|bench|local|app3-prod-v042"}, {"json": 1}) is not None

    return {
        "server_groups_cached": await collection.count_documents({"kind": "serverGroup"}),
        "app_server_groups_bus_ms": percentiles(await timed(reads, over_bus)),
        "app_server_groups_gate_ms": percentiles(await timed(reads, over_gate)),
        "app_server_groups_raw_find_ms": percentiles(await timed(reads, raw_find)),
        "one_server_group_gate_ms": percentiles(await timed(reads, one_over_gate)),
        "one_server_group_raw_find_ms": percentiles(await timed(reads, raw_find_one)),
    }


def cluster(version: str) -> Json:
    return {
        "application": "hello",
        "stack": "prod",
        "credentials": "local",
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "loadBalancers": ["hello-prod"],
        "command": HELLO,
        "env": {"HELLO_VERSION": version},
    }


async def deploys(bus: MemoryBus, answers: TaskAnswers, count: int) -> Json:
    """Time from createServerGroup sent to the new version answering through the balancer."""
    _, upserted = await answers.run(bus, "upsertLoadBalancer", {"name": "hello-prod", "credentials": "local"})
    url = upserted.outputs["loadBalancers"]["local"]["hello-prod"]["url"] + "/"
    await answers.run(bus, "createServerGroup", cluster("v1"))
    serving: list[float] = []
    answered: list[float] = []
    async with aiohttp.ClientSession() as session:
        for number in range(2, count + 2):
            version = f"v{number}"
            started = time.perf_counter()
            task = asyncio.create_task(answers.run(bus, "createServerGroup", cluster(version)))
            while True:
                async with session.get(url) as response:
                    if response.status == 200 and (await response.json())["version"] == version:
                        break
                await asyncio.sleep(0.01)
            serving.append(time.perf_counter() - started)
            arrived, _ = await task
            answered.append(arrived - started)
            previous = f"hello-prod-v{number - 2:03d}"
            await answers.run(bus, "disableServerGroup", {"serverGroupName": previous, "credentials": "local"})
    return {
        "deploys": count,
        "deploy_to_serving_ms": [round(value * 1000) for value in serving],
        "deploy_to_serving_median_ms": round(statistics.median(serving) * 1000),
        "deploy_to_task_completed_median_ms": round(statistics.median(answered) * 1000),
    }


async def stop_local_processes(db: Any) -> None:
    """Stop every process the local provider started in this run."""
    meta = await db["clouddriver_local_meta"].find_one({"_id": "owner"})
    if meta is not None:
        for pids in processes.owned_processes(meta["token"]).values():
            for pid in pids:
                await processes.stop(pid, timeout=5)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--deploys", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING", stream=sys.stderr)
    with tempfile.TemporaryDirectory() as directory:
        async with embedded_clouddriver(Path(directory), ACCOUNTS, before_store_closes=stop_local_processes) as rig:
            front50_host = ServiceHost(rig.bus, front50.build_service(rig.resources))
            await front50_host.start()
            client: TestClient[Any, Any] = TestClient(
                TestServer(create_app(rig.bus, GatewayConfig(version="bench", services=("front50", "clouddriver"))))
            )
            await client.start_server()
            figures: Json = {}
            try:
                figures.update(await cache_reads(rig.bus, rig.db, client, args.reads))
                figures.update(await deploys(rig.bus, rig.answers, args.deploys))
            finally:
                await client.close()
                await front50_host.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
