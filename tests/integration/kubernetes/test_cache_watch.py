"""A kubernetes account's cache follows its cluster on a watch: a change shows in Clouddriver's reads
within seconds, though the periodic refresh is an hour away and no operation ran."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bus import MemoryBus
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.clouddriver_cache import CachedResources, ListServerGroups
from schemas.json_types import Json
from tests.authorities import ADMIN
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from tests.mongo import fresh_database
from workers.clouddriver.kubernetes.provider import KubernetesProvider
from workers.clouddriver.provider import Account
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


def _replica_set(name: str) -> Json:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "annotations": {"moniker.spinnaker.io/application": "hello", "moniker.spinnaker.io/cluster": name},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "m", "image": "x"}]}},
        },
    }


async def test_an_account_allowed_only_in_its_namespaces_is_cached_and_watched_there(tmp_path: Path) -> None:
    """Credentials allowed only in ``web`` and ``shop`` (the account's ``namespaces``): the cache lists
    and watches each of them, never cluster-wide (which the server refuses with 403, as a real one would)."""
    async with (
        KubernetesApiServer(namespaces=("web", "shop", "other"), ready_seconds=0.1) as server,
        fresh_database() as db,
    ):
        await server.store.create(KIND["ReplicaSet"], "web", _replica_set("early-web"))
        await server.store.create(KIND["ReplicaSet"], "other", _replica_set("elsewhere"))
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig", namespace="web", only=("web", "shop"))
        settings = {"kubeconfigFile": str(kubeconfig), "namespaces": ["web", "shop"]}
        account = {"name": "k8s-scoped", "cloudProvider": "kubernetes", "kubernetes": settings}
        bus = MemoryBus(source="/test")
        resources = WorkerResources(Settings(data_dir=tmp_path), db)
        host = ServiceHost(bus, build_service(resources, accounts=[account], refresh_seconds=3600))
        await host.start()
        try:
            deadline = asyncio.get_running_loop().time() + 10
            while await server_groups(bus) != ["replicaSet early-web"]:
                assert asyncio.get_running_loop().time() < deadline, "the first refresh never filled the cache"
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # the watches have started
            await server.store.create(KIND["ReplicaSet"], "shop", _replica_set("later-shop"))
            while await server_groups(bus) != ["replicaSet early-web", "replicaSet later-shop"]:
                assert asyncio.get_running_loop().time() < deadline + 10, "the watch never saw the new ReplicaSet"
                await asyncio.sleep(0.1)
        finally:
            await host.stop()
            await bus.close()
    lists = [path for method, path in server.api.requests if method == "GET" and "/namespaces/" not in path]
    assert [path for path in lists if path.endswith(("/replicasets", "/pods"))] == []


async def test_a_lost_watch_resumes_from_the_last_version_and_replays_what_it_missed(tmp_path: Path) -> None:
    """The API server goes away and a ReplicaSet is made meanwhile: the watch, back, is told of it
    (it resumed from the last resourceVersion it saw) and did not start over from a fresh list."""
    async with KubernetesApiServer(namespaces=("web",), controllers=False) as server:
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig", namespace="web", only=("web",))
        settings = {"kubeconfigFile": str(kubeconfig), "namespaces": ["web"], "kinds": ["ReplicaSet"]}
        account = Account(name="k8s", cloud_provider="kubernetes", settings={"kubernetes": settings})
        provider = KubernetesProvider(rewatch_seconds=0.1)
        calls: list[float] = []

        async def changed() -> None:
            calls.append(asyncio.get_running_loop().time())

        async def until(count: int) -> None:
            deadline = asyncio.get_running_loop().time() + 5
            while len(calls) < count:
                assert asyncio.get_running_loop().time() < deadline, f"changed() called {len(calls)} times, not {count}"
                await asyncio.sleep(0.02)

        watching = asyncio.create_task(provider.watch_changes(account, changed))
        try:
            await asyncio.sleep(0.5)  # the first watch starts from a list's version (the cache reads the rest itself)
            assert calls == []
            await server.store.create(KIND["ReplicaSet"], "web", _replica_set("seen-live"))
            await until(1)
            await server.go_away()
            await server.store.create(KIND["ReplicaSet"], "web", _replica_set("made-while-away"))
            await asyncio.sleep(0.3)  # the watch tries again (refused) meanwhile
            before = len(server.api.requests)
            await server.serve()
            await until(2)
            await asyncio.sleep(0.5)
            assert len(calls) == 2
            asked = [path for _, path in server.api.requests[before:]]
            assert asked == ["/apis/apps/v1/namespaces/web/replicasets"], "not one watch resumed, but a list first"
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            await provider.close()
