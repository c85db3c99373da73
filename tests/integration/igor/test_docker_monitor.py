"""Igor's docker monitor against the local registry: the first poll only records, a new tag is
announced once however many Igors poll, pages and token authentication are followed, and a
registry that refuses is named."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bus import MemoryBus
from bus.context import MessageContext
from bus.endpoint import Endpoint
from bus.envelope import Envelope
from schemas.igor import DockerImagePushed, DockerRegistryConfig, IgorSettings
from tests.docker_registry_server import PASSWORD, USER, DockerRegistryServer
from tests.mongo import fresh_database
from workers.igor.docker_monitor import DockerMonitor
from workers.igor.registry import RegistryRefused
from workers.igor.store import IgorStore

BIG = [f"build-{n:04}" for n in range(2500)]


@pytest.fixture
async def registry() -> AsyncIterator[DockerRegistryServer]:
    async with DockerRegistryServer(repositories={"acme/shop": ["v1"], "acme/big": list(BIG)}) as server:
        yield server


def account(registry: DockerRegistryServer, *repositories: str, password: str = PASSWORD) -> IgorSettings:
    config = DockerRegistryConfig(
        name="hub",
        address=registry.url,
        repositories=repositories or ("acme/shop", "acme/big"),
        username=USER,
        password=SecretStr(password),
    )
    return IgorSettings(docker_registries=[config])


async def test_a_new_tag_is_announced_once_by_one_of_two_igors_after_the_first_poll(
    registry: DockerRegistryServer,
) -> None:
    bus = MemoryBus(source="/test")
    pushed: list[DockerImagePushed] = []

    async def tap(envelope: Envelope, context: MessageContext) -> None:
        pushed.append(DockerImagePushed.model_validate(envelope.data))

    consumption = await bus.consume(
        Endpoint(service="docker-test", kind="events", patterns=(DockerImagePushed.message_type,), raw_handler=tap)
    )
    async with fresh_database() as db:
        store = IgorStore(db)
        settings = account(registry)
        replicas = [DockerMonitor(store, settings, owner=owner) for owner in ("igor-a", "igor-b")]
        try:
            assert await replicas[0].poll("hub", bus) == 0  # first sight: records, announces nothing
            assert await store.seen_tags("hub", "acme/big") == set(BIG)  # three pages of 1,000
            pages = [r for r in registry.requests if r["path"] == "/v2/acme/big/tags/list" and r["token"]]
            assert [page["query"].get("last") for page in pages] == [None, "build-0999", "build-1999"]

            registry.repositories["acme/shop"] += ["v2", "v3"]
            for _ in range(2):
                announced = await asyncio.gather(*(replica.poll("hub", bus) for replica in replicas))
                assert sum(announced) in (2, 0)
            await asyncio.sleep(0.05)
            assert sorted(event.tag for event in pushed) == ["v2", "v3"]
            assert {(e.account, e.registry, e.repository) for e in pushed} == {("hub", registry.host, "acme/shop")}
            tokens = [r for r in registry.requests if r["path"] == "/token"]
            assert len(tokens) == 4  # one per Igor and repository, then reused
            challenged = [r for r in registry.requests if r["path"].endswith("/tags/list") and not r["token"]]
            assert len(challenged) == 4  # each Igor's first request per repository; the token served the rest
        finally:
            for replica in replicas:
                for client in replica.clients.values():
                    await client.close()
    await consumption.stop()
    await bus.close()


async def test_a_registry_that_refuses_is_named_and_the_password_is_not(registry: DockerRegistryServer) -> None:
    async with fresh_database() as db:
        bus = MemoryBus(source="/test")
        for settings, expected in (
            (account(registry, "acme/missing"), "docker registry 'hub' answered 404 for the tags of acme/missing"),
            (account(registry, password="wrong"), "docker registry 'hub' answered 401 for a token to read acme/shop"),
        ):
            monitor = DockerMonitor(IgorStore(db), settings, owner="igor-a")
            with pytest.raises(RegistryRefused) as refused:
                await monitor.poll("hub", bus)
            assert str(refused.value) == expected and "wrong" not in str(refused.value)
            for client in monitor.clients.values():
                await client.close()
        await bus.close()


async def test_a_tag_pushed_again_is_announced_again_only_where_digests_are_tracked(
    registry: DockerRegistryServer,
) -> None:
    bus = MemoryBus(source="/test")
    pushed: list[DockerImagePushed] = []

    async def tap(envelope: Envelope, context: MessageContext) -> None:
        pushed.append(DockerImagePushed.model_validate(envelope.data))

    consumption = await bus.consume(
        Endpoint(service="docker-digests", kind="events", patterns=(DockerImagePushed.message_type,), raw_handler=tap)
    )
    hub = account(registry, "acme/shop").docker_registries[0]
    tracked = IgorSettings(docker_registries=[hub.model_copy(update={"track_digests": True})])
    plain = IgorSettings(docker_registries=[hub.model_copy(update={"name": "plain"})])
    async with fresh_database() as db:
        store = IgorStore(db)
        replicas = [DockerMonitor(store, tracked, owner=owner) for owner in ("igor-a", "igor-b")]
        untracked = DockerMonitor(store, plain, owner="igor-c")
        monitors = [*replicas, untracked]
        try:
            first = registry.digest("acme/shop", "v1")
            assert await untracked.poll("plain", bus) == 0
            for replica in replicas:
                assert await replica.poll("hub", bus) == 0  # first sight: records, announces nothing
            assert await store.seen_digests("hub", "acme/shop") == {"v1": (first, 0)}

            second = registry.push("acme/shop", "v1")
            assert await untracked.poll("plain", bus) == 0
            assert sum(await asyncio.gather(*(replica.poll("hub", bus) for replica in replicas))) == 1
            assert await replicas[0].poll("hub", bus) == 0, "the same digest again is no push"
            registry.pushes["acme/shop:v1"] = 0  # pushed back to the first image
            assert registry.digest("acme/shop", "v1") == first
            assert await replicas[1].poll("hub", bus) == 1
            await asyncio.sleep(0.05)
            assert [(event.tag, event.digest) for event in pushed] == [("v1", second), ("v1", first)]
            assert await store.seen_digests("hub", "acme/shop") == {"v1": (first, 2)}
            heads = [r for r in registry.requests if r.get("method") == "HEAD" and "/manifests/" in r["path"]]
            assert heads and all(r["token"] for r in heads)
            assert len(heads) == 6, "one manifest read per poll of a tracking Igor, none where digests are not tracked"
        finally:
            for monitor in monitors:
                for client in monitor.clients.values():
                    await client.close()
    await consumption.stop()
    await bus.close()
