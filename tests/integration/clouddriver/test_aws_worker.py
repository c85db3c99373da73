"""Clouddriver's worker with an ``aws`` account on moto: Orca's commands in, task events and cache reads out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import Endpoint, MemoryBus
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.clouddriver_cache import ListLoadBalancers, ListServerGroups
from schemas.json_types import Json
from tests.authorities import ADMIN
from tests.integration.clouddriver.conftest import Clouddriver
from tests.integration.clouddriver.test_aws_fixtures import ACCOUNT, REGION, moto
from workers.clouddriver.aws import AwsConnector
from workers.clouddriver.aws.testing import MotoServer
from workers.clouddriver.worker import build_service

__all__ = ["moto"]  # a fixture used by name


@pytest.fixture
async def aws_clouddriver(db: AsyncDatabase[Json], tmp_path: Path, moto: MotoServer) -> AsyncIterator[Clouddriver]:
    """The whole Clouddriver worker with one ``aws`` account on the moto server (its keys in the account)."""
    moto.reset()
    connector = AwsConnector(moto.settings())
    ec2 = (await connector.region(REGION)).ec2
    await ec2.register_image(Name="hello-1.0.0", Architecture="x86_64", RootDeviceName="/dev/sda1")
    await connector.close()
    bus = MemoryBus(source="/test")
    system = Clouddriver(bus, db, tmp_path)
    tap = await bus.consume(
        Endpoint(
            service="clouddriver-test",
            kind="events",
            patterns=("clouddriver.task.*",),
            raw_handler=system.tap,
            durable=False,
        )
    )
    account = {
        "name": ACCOUNT,
        "cloudProvider": "aws",
        "regions": [REGION],
        "aws": {"endpointUrl": moto.url, "accessKeyId": "k", "secretAccessKey": "s"},
    }
    service = build_service(
        WorkerResources(Settings(data_dir=tmp_path), db),
        accounts=[account],
        refresh_seconds=3600,
        heartbeat_seconds=0.5,
    )
    system.host = ServiceHost(bus, service)
    await system.host.start()
    try:
        yield system
    finally:
        await system.stop_host()
        await tap.stop()
        await bus.close()


def cluster(**extra: Any) -> Json:
    return {
        "application": "hello",
        "stack": "prod",
        "credentials": ACCOUNT,
        "cloudProvider": "aws",
        "region": REGION,
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "amiName": "hello-1.0.0",
        "instanceType": "t3.small",
        "loadBalancers": ["hello-lb"],
        "waitForUpTimeoutSeconds": 30,
        **extra,
    }


async def test_deploy_to_aws_through_the_worker_once_per_task(aws_clouddriver: Clouddriver) -> None:
    system = aws_clouddriver
    await system.ok(
        "upsertLoadBalancer", {"name": "hello-lb", "credentials": ACCOUNT, "cloudProvider": "aws", "region": REGION}
    )
    command = system.command("createServerGroup", cluster())
    await system.send(command)
    await system.send(command)  # redelivered: the same task id and attempt
    first = await system.answer(command)
    assert first.status == "SUCCEEDED", first.error
    assert first.outputs["deploy.server.groups"] == {REGION: ["hello-prod-v000"]}

    await system.refresh()
    reply = await system.bus.ask(ListServerGroups(authority=ADMIN, application="hello"), timeout=10)
    groups = reply.resources  # type: ignore[attr-defined]
    assert [(g["name"], g["cloudProvider"], g["account"], len(g["instances"])) for g in groups] == [
        ("hello-prod-v000", "aws", ACCOUNT, 2)
    ]
    assert groups[0]["loadBalancers"] == ["hello-lb"] and groups[0]["isDisabled"] is False
    balancers = (await system.bus.ask(ListLoadBalancers(authority=ADMIN, application="hello"), timeout=10)).resources  # type: ignore[attr-defined]
    assert [b["name"] for b in balancers] == ["hello-lb"]

    target = {"credentials": ACCOUNT, "cloudProvider": "aws", "region": REGION, "serverGroupName": "hello-prod-v000"}
    await system.ok("disableServerGroup", target)
    await system.ok("destroyServerGroup", target)
    await system.refresh()
    assert (await system.bus.ask(ListServerGroups(authority=ADMIN, application="hello"), timeout=10)).resources == []  # type: ignore[attr-defined]
