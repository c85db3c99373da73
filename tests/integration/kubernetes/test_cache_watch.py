"""A kubernetes account's cache follows its cluster on a watch: a change shows in Clouddriver's reads
within seconds, though the periodic refresh is an hour away and no operation ran."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bus import MemoryBus
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.clouddriver_cache import CachedResources, ListServerGroups
from tests.authorities import ADMIN
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from tests.mongo import fresh_database
from workers.clouddriver.worker import build_service


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[MemoryBus, KubernetesApiServer]]:
    async with KubernetesApiServer(namespaces=("web",), ready_seconds=0.1) as server, fresh_database() as db:
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig", namespace="web")
        account = {"name": "k8s", "cloudProvider": "kubernetes", "kubernetes": {"kubeconfigFile": str(kubeconfig)}}
        bus = MemoryBus(source="/test")
        resources = WorkerResources(Settings(data_dir=tmp_path), db)
        host = ServiceHost(bus, build_service(resources, accounts=[account], refresh_seconds=3600))
        await host.start()
        try:
            yield bus, server
        finally:
            await host.stop()
            await bus.close()


async def server_groups(bus: MemoryBus) -> list[str]:
    reply = await bus.ask(ListServerGroups(application="hello", authority=ADMIN), timeout=10)
    assert isinstance(reply, CachedResources)
    return sorted(str(found["name"]) for found in reply.resources)


async def test_a_replica_set_made_outside_gennaker_shows_up_and_goes_away_on_the_watch(
    world: tuple[MemoryBus, KubernetesApiServer],
) -> None:
    bus, server = world
    await asyncio.sleep(1.0)  # the first refresh and the watches have started
    assert await server_groups(bus) == []
    labels = {"app": "made-by-hand"}
    replica_set = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "by-hand-v000",
            "annotations": {"moniker.spinnaker.io/application": "hello", "moniker.spinnaker.io/cluster": "by-hand"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "m", "image": "x"}]}},
        },
    }
    await server.store.create(KIND["ReplicaSet"], "web", replica_set)
    deadline = asyncio.get_running_loop().time() + 20
    while await server_groups(bus) != ["replicaSet by-hand-v000"]:
        assert asyncio.get_running_loop().time() < deadline, "the new ReplicaSet never reached the cache"
        await asyncio.sleep(0.1)
    await server.store.delete(KIND["ReplicaSet"], "web", "by-hand-v000")
    while await server_groups(bus) != []:
        assert asyncio.get_running_loop().time() < deadline + 20, "the deleted ReplicaSet stayed in the cache"
        await asyncio.sleep(0.1)
