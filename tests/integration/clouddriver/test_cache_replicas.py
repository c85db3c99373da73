"""Clouddriver's cache writes only what changed, and every replica reads what any replica stored.

Two :class:`InfrastructureCache` objects over one store stand for two Clouddriver replicas; a
provider whose snapshot the test sets stands for the cloud. Reads are from each replica's view in
memory, which follows the stored revisions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pydantic_core
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from schemas.json_types import Json
from schemas.secrets import MARKER
from tests.mongo import fresh_database
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.cache import COLLECTION, REVISIONS, InfrastructureCache
from workers.clouddriver.model import AccountSnapshot, Capacity, Instance, ServerGroup
from workers.clouddriver.provider import Account, CloudProvider, ProviderRegistry


class SetCloud(CloudProvider):
    """Describes whatever snapshot the test last set; refuses every operation."""

    cloud_provider: ClassVar[str] = "setcloud"

    def __init__(self) -> None:
        self.snapshot = AccountSnapshot()

    async def describe(self, account: Account) -> AccountSnapshot:
        return self.snapshot

    async def create_server_group(self, account: Account, description: Any, progress: Any) -> ServerGroup:
        raise NotImplementedError

    async def resize_server_group(self, account: Account, description: Any, progress: Any) -> None:
        raise NotImplementedError

    async def enable_server_group(self, account: Account, description: Any, progress: Any) -> None:
        raise NotImplementedError

    async def disable_server_group(self, account: Account, description: Any, progress: Any) -> None:
        raise NotImplementedError

    async def destroy_server_group(self, account: Account, description: Any, progress: Any) -> None:
        raise NotImplementedError

    async def terminate_instances(self, account: Account, description: Any, progress: Any) -> None:
        raise NotImplementedError

    async def upsert_load_balancer(self, account: Account, description: Any, progress: Any) -> Json:
        raise NotImplementedError

    async def delete_load_balancer(self, account: Account, description: Any, progress: Any) -> None:
        raise NotImplementedError


def group(name: str, *, up: int = 1, launch: Json | None = None) -> ServerGroup:
    instances = tuple(Instance(id=f"{name}-{n}", zone="z", health_state="Up") for n in range(up))
    return ServerGroup(
        name=name,
        account="cloud",
        region="r1",
        capacity=Capacity(min=up, max=up, desired=up),
        instances=instances,
        launch_config=launch or {},
    )


@pytest.fixture
async def db() -> AsyncIterator[AsyncDatabase[Json]]:
    async with fresh_database() as database:
        yield database


def replica(db: AsyncDatabase[Json], cloud: SetCloud) -> InfrastructureCache:
    registry = ProviderRegistry()
    registry.register(cloud)
    accounts = AccountCatalogue([{"name": "cloud", "cloudProvider": "setcloud"}])
    return InfrastructureCache(db, accounts, registry)


async def names(cache: InfrastructureCache) -> list[tuple[str, int]]:
    return [
        (entry.name, len(pydantic_core.from_json(entry.json)["instances"]))
        for entry in await cache.server_groups("app")
    ]


async def test_refreshes_write_only_changes_and_other_replicas_follow(db: AsyncDatabase[Json]) -> None:
    cloud = SetCloud()
    first, second = replica(db, cloud), replica(db, cloud)
    cloud.snapshot = AccountSnapshot(server_groups=(group("app-v000"), group("app-v001", up=2)))
    assert await first.refresh("cloud") == 2
    assert await names(second) == [("app-v000", 1), ("app-v001", 2)]  # loaded from the store
    revision = (await db[REVISIONS].find_one({"_id": "cloud"}) or {})["revision"]

    stored = {doc["_id"]: doc async for doc in db[COLLECTION].find({})}
    await first.refresh("cloud")  # nothing changed: nothing written, the revision stays
    assert {doc["_id"]: doc async for doc in db[COLLECTION].find({})} == stored
    assert (await db[REVISIONS].find_one({"_id": "cloud"}) or {})["revision"] == revision

    cloud.snapshot = AccountSnapshot(server_groups=(group("app-v001", up=3), group("app-v002")))
    await first.refresh("cloud")
    assert (await db[REVISIONS].find_one({"_id": "cloud"}) or {})["revision"] == revision + 1
    assert await names(first) == await names(second) == [("app-v001", 3), ("app-v002", 1)]
    assert first.view.revisions["cloud"] == revision + 1  # its own write: no reload needed

    cloud.snapshot = AccountSnapshot(server_groups=(group("app-v002"),))
    await second.refresh("cloud")  # the other replica refreshes now
    assert await names(first) == [("app-v002", 1)]
    assert [i["instanceId"] for i in await first.instance("cloud", "r1", "app-v002-0")] == ["app-v002-0"]
    assert await first.instance("cloud", "r1", "app-v001-0") == []


async def test_cached_json_hides_secrets(db: AsyncDatabase[Json]) -> None:
    cloud = SetCloud()
    cache = replica(db, cloud)
    launch = {"password": "hunter2", "env": {"TOKEN": "x"}, "image": "app:1"}
    cloud.snapshot = AccountSnapshot(server_groups=(group("app-v000", launch=launch),))
    await cache.refresh("cloud")
    (entry,) = await cache.server_groups("app", account="cloud", region="r1", name="app-v000")
    assert b"hunter2" not in entry.json and pydantic_core.from_json(entry.json)["launchConfig"]["password"] == MARKER
    assert "env" in pydantic_core.from_json(entry.json)["launchConfig"]
    assert "env" not in pydantic_core.from_json(entry.shown)["launchConfig"]
