"""Cancelling a pipeline through Gate cancels its running bake in Rosco, with the real Packer.

Gate, Front50, Orca and Rosco on one bus; the bake's template runs until it is stopped. Cancelling
the execution ends its ``Bake in local`` stage, Rosco cancels the bake and its Packer process is
gone. A bake the cache shares between two executions keeps running while the other one still
waits for it, and stops when that one is cancelled too.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from pymongo.asynchronous.collection import AsyncCollection

from bus import MemoryBus
from bus.service import ServiceHost
from gateway import command_results
from gateway.app import create_app
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.auth_settings import AuthConfig
from schemas.json_types import Json
from schemas.rosco import RoscoSettings
from tests.integration.gate.conftest import Client, eventually
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import finished, save, trigger
from tests.integration.rosco.conftest import SLOW
from tests.mongo import fresh_database
from workers.front50 import worker as front50
from workers.orca import worker as orca
from workers.rosco import worker as rosco

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class System:
    client: Client
    bakes: AsyncCollection[Json]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    root = tmp_path_factory.mktemp("bake-cancel")
    templates = root / "templates"
    shutil.copytree(rosco.TEMPLATES, templates)
    (templates / "slow.json").write_text(json.dumps(SLOW))
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(fresh_database())
        bakery = RoscoSettings(images_dir=root / "images", local_repository=root / "packages", config_dir=templates)
        resources = WorkerResources(settings=Settings(data_dir=root, rosco=bakery), db=db)
        bus = MemoryBus()
        stack.push_async_callback(bus.close)
        for service in (
            front50.build_service(resources),
            orca.build_service(resources),
            rosco.build_service(resources),
        ):
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        config = GatewayConfig(version="9.9.9", services=("front50", "orca", "rosco"), auth=AuthConfig())
        app = create_app(bus, config)
        command_results.install(app)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        await create_application(client, "hello")
        yield System(client, db["rosco_bakes"])


def slow_bake(name: str, image: str) -> Json:
    stage = {
        "refId": "bake",
        "type": "bake",
        "name": "Bake",
        "package": "hello",
        "baseOs": "python",
        "cloudProviderType": "local",
        "region": "local",
        "templateFileName": "slow.json",
        "amiName": image,
    }
    return {"application": "hello", "name": name, "stages": [stage]}


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


async def running_bake(system: System, image: str, waiters: int = 1) -> Json:
    def ready(bake: Any) -> bool:
        return bake is not None and bake.get("pid") is not None and len(bake.get("waiters") or []) >= waiters

    found: Json = await eventually(lambda: system.bakes.find_one({"request.ami_name": image}), ready, timeout=20)
    return found


async def cancel(system: System, ref: str) -> Json:
    response = await system.client.put(f"{ref}/cancel")
    assert response.status in (200, 202), await response.text()
    return await finished(system.client, ref, timeout=10)


async def bake_state(system: System, bake_id: str) -> str:
    response = await system.client.get(f"/api/v1/local/status/{bake_id}")
    assert response.status == 200, await response.text()
    state: str = (await response.json())["state"]
    return state


async def test_cancelling_the_execution_cancels_its_bake_and_stops_packer(system: System) -> None:
    await save(system.client, slow_bake("slow-alone", "alone"))
    ref = await trigger(system.client, "hello", "slow-alone")
    bake = await running_bake(system, "alone")
    assert alive(int(bake["pid"]))
    execution = await cancel(system, ref)
    assert execution["status"] == "CANCELED"
    await eventually(lambda: asyncio.sleep(0, alive(int(bake["pid"]))), lambda running: not running, timeout=5)
    assert await bake_state(system, bake["_id"]) == "CANCELED"


async def test_a_bake_another_execution_still_waits_for_keeps_running(system: System) -> None:
    for name in ("slow-a", "slow-b"):
        await save(system.client, slow_bake(name, "shared"))
    first = await trigger(system.client, "hello", "slow-a")
    await running_bake(system, "shared")
    second = await trigger(system.client, "hello", "slow-b")
    bake = await running_bake(system, "shared", waiters=2)  # the cache shares the one bake
    assert (await cancel(system, first))["status"] == "CANCELED"
    await asyncio.sleep(1.5)  # past the runner's next look at the bake
    assert alive(int(bake["pid"])) and await bake_state(system, bake["_id"]) == "RUNNING"
    assert (await cancel(system, second))["status"] == "CANCELED"
    await eventually(lambda: asyncio.sleep(0, alive(int(bake["pid"]))), lambda running: not running, timeout=5)
    assert await bake_state(system, bake["_id"]) == "CANCELED"
    assert await system.bakes.count_documents({"request.ami_name": "shared"}) == 1
