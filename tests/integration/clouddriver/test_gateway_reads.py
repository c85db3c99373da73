"""Gate's infrastructure reads answered from Clouddriver's cache, with Fiat-style account filtering.

The whole path is real: operations over the bus create server groups of the example app in an
open ``local`` account and a ``secret`` one only ``ops`` may READ; the gateway asks Clouddriver's
cache and drops what the caller may not see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bus import Endpoint, MemoryBus
from bus.service import ServiceHost
from gateway import command_results
from gateway.app import create_app
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.authority import Authority
from schemas.base import Query
from schemas.clouddriver_cache import FindImages, ListLoadBalancers, ListServerGroups
from tests.integration.clouddriver.conftest import (
    ACCOUNTS,
    Clouddriver,
    cluster,
    stop_everything,
)
from tests.integration.gate.conftest import AUTH, as_user
from tests.mongo import start_store
from workers.clouddriver.worker import build_service
from workers.front50 import worker as front50

type Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[tuple[Client, Clouddriver]]:
    async with AsyncExitStack() as stack:
        server, mongo = await start_store()
        stack.push_async_callback(server.close)
        stack.push_async_callback(mongo.close)
        db = mongo["gennaker"]
        stack.push_async_callback(stop_everything, db)
        bus = MemoryBus(source="/test")
        stack.push_async_callback(bus.close)
        driver = Clouddriver(bus, db, tmp_path)
        tap = await bus.consume(
            Endpoint(
                service="t", kind="events", patterns=("clouddriver.task.*",), raw_handler=driver.tap, durable=False
            )
        )
        stack.push_async_callback(tap.stop)
        resources = WorkerResources(Settings(data_dir=tmp_path), db)
        for service in (
            front50.build_service(resources),
            build_service(resources, accounts=ACCOUNTS, refresh_seconds=3600),
        ):
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        app = create_app(bus, GatewayConfig(version="9.9.9", services=("front50", "clouddriver"), auth=AUTH))
        command_results.install(app)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        await driver.ok("upsertLoadBalancer", {"name": "hello-prod", "credentials": "local"})
        await driver.ok("createServerGroup", cluster("v1", desired=1, loadBalancers=["hello-prod"]))
        await driver.ok("createServerGroup", {**cluster("v1", desired=1), "credentials": "secret"})
        await driver.ok("createServerGroup", cluster("v2", stack="edge", desired=1, imageName="hello-2.0"))
        yield client, driver


async def get(client: Client, path: str, user: str) -> tuple[int, Any]:
    response = await client.get(path, headers=as_user(user))
    return response.status, await response.json()


async def test_server_groups_and_clusters_are_filtered_by_account(system: tuple[Client, Clouddriver]) -> None:
    client, _ = system
    status, groups = await get(client, "/applications/hello/serverGroups", "dev")
    assert status == 200
    assert sorted((g["account"], g["name"]) for g in groups) == [
        ("local", "hello-edge-v000"),
        ("local", "hello-prod-v000"),
    ]
    group = next(g for g in groups if g["name"] == "hello-prod-v000")
    assert group["cluster"] == "hello-prod" and group["capacity"] == {"min": 1, "max": 1, "desired": 1}
    assert group["instanceCounts"]["up"] == 1 and group["loadBalancers"] == ["hello-prod"]
    _, everything = await get(client, "/applications/hello/serverGroups", "ops")
    assert ("secret", "hello-prod-v000") in {(g["account"], g["name"]) for g in everything}
    assert await get(client, "/applications/hello/clusters", "dev") == (
        200,
        {"local": ["hello-edge", "hello-prod"]},
    )
    _, clusters = await get(client, "/applications/hello/clusters", "ops")
    assert clusters == {"local": ["hello-edge", "hello-prod"], "secret": ["hello-prod"]}


async def test_named_reads_of_another_account_are_refused(system: tuple[Client, Clouddriver]) -> None:
    client, _ = system
    status, body = await get(client, "/applications/hello/serverGroups/secret/local/hello-prod-v000", "dev")
    assert status == 403 and "secret" in body["message"]
    status, body = await get(client, "/applications/hello/serverGroups/secret/local/hello-prod-v000", "ops")
    assert status == 200 and body["account"] == "secret"
    status, body = await get(client, "/applications/hello/clusters/secret/hello-prod/serverGroups", "dev")
    assert status == 403
    status, _ = await get(client, "/applications/hello/serverGroups/local/local/hello-prod-v009", "dev")
    assert status == 404


async def test_cluster_load_balancer_instance_and_image_reads(system: tuple[Client, Clouddriver]) -> None:
    client, _ = system
    status, groups = await get(client, "/applications/hello/clusters/local/hello-prod/serverGroups", "dev")
    assert status == 200 and [g["name"] for g in groups] == ["hello-prod-v000"]
    status, named = await get(
        client, "/applications/hello/clusters/local/hello-prod/serverGroups/hello-prod-v000", "dev"
    )
    assert status == 200 and [g["region"] for g in named] == ["local"]
    status, balancers = await get(client, "/applications/hello/loadBalancers", "dev")
    assert status == 200 and [b["name"] for b in balancers] == ["hello-prod"]
    members = balancers[0]["serverGroups"]
    assert [m["name"] for m in members] == ["hello-prod-v000"] and members[0]["isDisabled"] is False
    instance_id = groups[0]["instances"][0]["instanceId"]
    status, instance = await get(client, f"/instances/local/local/{instance_id}", "dev")
    assert status == 200 and instance["serverGroup"] == "hello-prod-v000" and instance["healthState"] == "Up"
    assert (await get(client, "/instances/local/local/i-missing", "dev"))[0] == 404
    status, images = await get(client, "/images/find?q=hello-2*&provider=local", "dev")
    assert status == 200 and [image["imageName"] for image in images] == ["hello-2.0"]
    assert (await get(client, "/images/find?q=nothing", "dev")) == (200, [])
    assert (await get(client, "/images/find?count=zero", "dev"))[0] == 400


async def test_listings_are_summaries_unless_expanded_and_filter_by_provider_and_cluster(
    system: tuple[Client, Clouddriver],
) -> None:
    client, _ = system
    status, groups = await get(client, "/applications/hello/serverGroups", "dev")
    assert status == 200
    summary = next(g for g in groups if g["name"] == "hello-prod-v000")
    assert "launchConfig" not in summary and "image" not in summary and summary["cloudProvider"] == "local"
    (instance,) = summary["instances"]
    assert set(instance) <= {"id", "name", "health", "healthState", "launchTime", "availabilityZone"}
    assert instance["healthState"] == "Up" and instance["id"].startswith("hello-prod-v000")
    status, expanded = await get(client, "/applications/hello/serverGroups?expand=true", "dev")
    whole = next(g for g in expanded if g["name"] == "hello-prod-v000")
    assert whole["accountName"] == "local" and whole["stack"] == "prod" and whole["instances"][0]["instanceId"]
    assert "launchConfig" in whole
    assert [g["name"] for g in (await get(client, "/applications/hello/serverGroups?cloudProvider=LOCAL", "dev"))[1]]
    assert await get(client, "/applications/hello/serverGroups?cloudProvider=aws", "dev") == (200, [])

    _, named = await get(client, "/applications/hello/serverGroups?clusters=local:hello-edge,secret:hello-prod", "ops")
    assert sorted((g["account"], g["name"]) for g in named) == [
        ("local", "hello-edge-v000"),
        ("secret", "hello-prod-v000"),
    ]
    _, hidden = await get(client, "/applications/hello/serverGroups?clusters=secret:hello-prod", "dev")
    assert hidden == []  # an account the caller may not READ is left out, named or not
    assert await get(client, "/applications/hello/serverGroups?clusters=", "dev") == (200, [])
    status, body = await get(client, "/applications/hello/serverGroups?clusters=hello-prod", "dev")
    assert status == 400 and body["field"] == "clusters" and "account:cluster" in body["message"]


async def test_an_accounts_clusters_and_one_cluster(system: tuple[Client, Clouddriver]) -> None:
    client, _ = system
    status, clusters = await get(client, "/applications/hello/clusters/local", "dev")
    assert status == 200 and [c["name"] for c in clusters] == ["hello-edge", "hello-prod"]
    prod = clusters[1]
    assert prod["account"] == "local" and prod["serverGroups"] == ["hello-prod-v000"]
    assert prod["loadBalancers"] == ["hello-prod"] and prod["moniker"] == {"app": "hello", "cluster": "hello-prod"}
    assert (await get(client, "/applications/hello/clusters/secret", "dev"))[0] == 403
    assert (await get(client, "/applications/hello/clusters/nowhere", "ops"))[0] == 404

    status, cluster = await get(client, "/applications/hello/clusters/local/hello-prod", "dev")
    assert status == 200 and cluster["accountName"] == "local" and cluster["type"] == "local"
    assert [g["name"] for g in cluster["serverGroups"]] == ["hello-prod-v000"]
    assert "launchConfig" in cluster["serverGroups"][0]
    assert [b["name"] for b in cluster["loadBalancers"]] == ["hello-prod"]
    assert await get(client, "/applications/hello/clusters/local/hello-nothing", "dev") == (200, {})
    assert (await get(client, "/applications/hello/clusters/secret/hello-prod", "dev"))[0] == 403


async def test_server_groups_of_several_applications_or_by_id(system: tuple[Client, Clouddriver]) -> None:
    client, _ = system
    status, groups = await get(client, "/serverGroups?applications=hello,nothing", "dev")
    assert status == 200 and sorted(g["name"] for g in groups) == ["hello-edge-v000", "hello-prod-v000"]
    assert all("launchConfig" not in g for g in groups)
    _, everything = await get(client, "/serverGroups?applications=hello&cloudProvider=local", "ops")
    assert ("secret", "hello-prod-v000") in {(g["account"], g["name"]) for g in everything}

    ids = "ids=local:local:hello-prod-v000&ids=secret:local:hello-prod-v000,local:local:hello-gone-v009"
    status, found = await get(client, f"/serverGroups?{ids}", "dev")
    assert status == 200 and [(g["account"], g["name"]) for g in found] == [("local", "hello-prod-v000")]
    _, found = await get(client, f"/serverGroups?{ids}", "ops")
    assert [g["account"] for g in found] == ["local", "secret"]

    status, body = await get(client, "/serverGroups?ids=local:hello-prod-v000", "dev")
    assert status == 400 and body["field"] == "ids" and "<account>:<region>:<name>" in body["message"]
    status, body = await get(client, "/serverGroups", "dev")
    assert status == 400 and "either 'applications' or 'ids'" in body["message"]
    assert (await get(client, "/serverGroups?applications=hello&ids=local:local:x", "dev"))[0] == 400


async def test_the_gateways_account_check_travels_in_the_query(system: tuple[Client, Clouddriver]) -> None:
    _, driver = system
    admin = Authority.anonymous_admin()

    async def names(query: Query) -> list[str]:
        found = (await driver.bus.ask(query, timeout=10)).resources  # type: ignore[attr-defined]
        return [r.get("imageName") or r["name"] for r in found]

    assert await names(ListLoadBalancers(application="hello", authority=admin)) == ["hello-prod"]
    assert await names(ListLoadBalancers(application="hello", accounts=("secret",), authority=admin)) == []
    assert await names(FindImages(q="hello-2*", authority=admin)) == ["hello-2.0"]
    assert await names(FindImages(q="hello-2*", accounts=("secret",), authority=admin)) == []
    everywhere = await names(ListServerGroups(application="hello", authority=admin))
    assert everywhere.count("hello-prod-v000") == 2
    assert await names(ListServerGroups(application="hello", accounts=("secret",), authority=admin)) == [
        "hello-prod-v000"
    ]


async def test_a_clusters_target_server_group(system: tuple[Client, Clouddriver]) -> None:
    client, driver = system
    target = "/applications/hello/clusters/local/hello-prod/local/local/serverGroups/target"
    status, body = await get(client, f"{target}/previous", "dev")
    assert status == 404 and "No server groups found" in body["message"]
    assert (await get(client, f"{target}/oldest", "dev"))[0] == 404  # oldest wants two, unless not validated
    assert (await get(client, f"{target}/oldest?validateOldest=false", "dev"))[1]["name"] == "hello-prod-v000"
    await driver.ok("createServerGroup", cluster("v2", desired=2))
    names = {
        name: (await get(client, f"{target}/{name}", "dev"))[1].get("name")
        for name in ("current", "previous", "oldest", "largest")
    }
    assert names == {
        "current": "hello-prod-v001",
        "previous": "hello-prod-v000",
        "oldest": "hello-prod-v000",
        "largest": "hello-prod-v001",
    }
    status, body = await get(client, f"{target}/fail", "dev")
    assert status == 404 and "More than one target found" in body["message"]
    assert (await get(client, f"{target}/newest", "dev"))[1]["message"] == "Target not found (target: newest)"
    assert (
        await get(client, "/applications/hello/clusters/local/hello-prod/aws/local/serverGroups/target/current", "dev")
    )[0] == 404
    assert (
        await get(
            client, "/applications/hello/clusters/secret/hello-prod/local/local/serverGroups/target/current", "dev"
        )
    )[0] == 403
