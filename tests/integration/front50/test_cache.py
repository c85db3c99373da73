"""Front50's read cache never shows a client less than it was told was written, on any replica.

A write is done, for the client, when its result event arrives; every query asked after that must
see it, whichever replica answers and whether or not that replica has seen the event yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.front50 import (
    ApplicationFound,
    DeletePipeline,
    GetApplication,
    GetPipelineConfig,
    ListPipelineConfigs,
    PipelineFound,
    PipelineList,
    PipelineSaved,
    RenamePipeline,
    SaveApplication,
    SavePipeline,
)
from tests.authorities import ADMIN
from tests.integration.front50.conftest import Front50Client, pipeline, run_front50
from tests.mongo import start_store
from workers.front50.worker import build_service


async def names(front50: Front50Client, application: str = "billing") -> list[str]:
    listed = await front50.ask(ListPipelineConfigs(application=application))
    assert isinstance(listed, PipelineList)
    return [str(found["name"]) for found in listed.pipelines]


async def test_a_read_after_a_write_shows_it(front50: Front50Client) -> None:
    assert await names(front50) == []
    assert await names(front50) == [], "answered from the cache the second time"
    await front50.send(SavePipeline(authority=ADMIN, pipeline=pipeline(name="deploy")))
    assert await names(front50) == ["deploy"]
    saved = await front50.send(SavePipeline(authority=ADMIN, pipeline=pipeline(name="bake")))
    assert await names(front50) == ["bake", "deploy"]
    assert isinstance(saved, PipelineSaved)

    await front50.send(RenamePipeline(authority=ADMIN, application="billing", from_name="bake", to_name="build"))
    assert await names(front50) == ["build", "deploy"]
    found = await front50.ask(GetPipelineConfig(id=saved.pipeline["id"]))
    assert isinstance(found, PipelineFound) and found.pipeline and found.pipeline["name"] == "build"

    await front50.send(DeletePipeline(authority=ADMIN, application="billing", name="deploy"))
    assert await names(front50) == ["build"]


async def test_an_answer_is_the_askers_own_copy(front50: Front50Client) -> None:
    await front50.send(SavePipeline(authority=ADMIN, pipeline=pipeline()))
    first = await front50.ask(ListPipelineConfigs(application="billing"))
    assert isinstance(first, PipelineList)
    first.pipelines[0]["name"] = "changed by the asker"
    first.pipelines[0]["stages"].clear()
    second = await front50.ask(ListPipelineConfigs(application="billing"))
    assert isinstance(second, PipelineList)
    assert second.pipelines[0]["name"] == "deploy" and len(second.pipelines[0]["stages"]) == 2


@pytest.fixture
async def two_replicas() -> AsyncIterator[tuple[Front50Client, Front50Client]]:
    """Two Front50 replicas over one database, each on a bus of its own: no event reaches the other."""
    server, mongo = await start_store(tz_aware=True)
    db: AsyncDatabase[dict[str, Any]] = mongo["gennaker"]
    buses = [MemoryBus(source="/test-a"), MemoryBus(source="/test-b")]
    started = [await run_front50(bus, db) for bus in buses]
    try:
        yield started[0][1], started[1][1]
    finally:
        for host, _, tap in started:
            await host.stop()
            await tap.stop()
        for bus in buses:
            await bus.close()
        await mongo.close()
        await server.close()


async def test_a_write_on_one_replica_is_read_on_the_other_at_once(
    two_replicas: tuple[Front50Client, Front50Client],
) -> None:
    writer, reader = two_replicas
    assert await names(reader) == []
    missing = await reader.ask(GetApplication(name="billing"))
    assert isinstance(missing, ApplicationFound) and missing.application is None

    await writer.send(SaveApplication(authority=ADMIN, application={"name": "billing", "email": "a@example.com"}))
    await writer.send(SavePipeline(authority=ADMIN, pipeline=pipeline()))
    found = await reader.ask(GetApplication(name="billing"))
    assert isinstance(found, ApplicationFound) and found.application and found.application["email"] == "a@example.com"
    assert await names(reader) == ["deploy"]

    await writer.send(DeletePipeline(authority=ADMIN, application="billing", name="deploy"))
    assert await names(reader) == []


async def test_two_replicas_on_one_bus_answer_every_read_after_a_write() -> None:
    server, mongo = await start_store(tz_aware=True)
    bus = MemoryBus(source="/test")
    first, client, tap = await run_front50(bus, mongo["gennaker"])
    second = ServiceHost(bus, build_service(WorkerResources(settings=Settings(), db=mongo["gennaker"])))
    await second.start()
    try:
        for number in range(5):
            await asyncio.gather(*(names(client) for _ in range(40)))  # warms both replicas' caches
            await client.send(SavePipeline(authority=ADMIN, pipeline=pipeline(name=f"p{number}")))
            answers = await asyncio.gather(*(names(client) for _ in range(40)))
            assert all(len(answer) == number + 1 for answer in answers), answers
    finally:
        await second.stop()
        await first.stop()
        await tap.stop()
        await bus.close()
        await mongo.close()
        await server.close()
