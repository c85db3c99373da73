"""A bake → deploy pipeline end to end through Gate: Rosco bakes the example app with the real Packer
(the local template) in two regions at once, and Clouddriver's local provider deploys the baked image.

The same bake again is answered from Rosco's cache (no Packer run); ``rebake`` bakes again. Gate's
bakery reads (status, bake, logs, options) answer in Rosco's shapes.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient

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
from tests.integration.clouddriver.conftest import stop_everything
from tests.integration.gate.conftest import Client, eventually
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import FINISHED, read, save, trigger
from workers.clouddriver import worker as clouddriver
from workers.front50 import worker as front50
from workers.orca import worker as orca
from workers.rosco import worker as rosco

pytestmark = pytest.mark.asyncio(loop_scope="module")
ROOT = Path(__file__).resolve().parents[2]
REGIONS = ("local", "local-b")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gate(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    root = tmp_path_factory.mktemp("bake-pipeline")
    (root / "packages" / "hello_1.0-1_all").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "hello" / "app.py", root / "packages" / "hello_1.0-1_all" / "app.py")
    defaults = RoscoSettings().bakery_defaults
    local = defaults["local"].model_dump(by_alias=True)
    for image in local["baseImages"]:
        image["virtualizationSettings"] = [{"region": region, "runner": "python"} for region in REGIONS]
    bakery = RoscoSettings.model_validate(
        {
            "imagesDir": str(root / "images"),
            "localRepository": str(root / "packages"),
            "bakeryDefaults": {**{k: v.model_dump(by_alias=True) for k, v in defaults.items()}, "local": local},
        }
    )
    async with AsyncExitStack() as stack:
        server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
        address = await server.start()
        stack.push_async_callback(server.close)
        mongo: AsyncMongoClient[Json] = AsyncMongoClient(address.uri)
        stack.push_async_callback(mongo.close)
        stack.push_async_callback(lambda: _no_orphans(mongo))
        resources = WorkerResources(settings=Settings(data_dir=root, rosco=bakery), db=mongo["gennaker"])
        bus = MemoryBus()
        stack.push_async_callback(bus.close)
        accounts = [{"name": "local", "cloudProvider": "local", "local": {"imageDirs": [str(root / "images")]}}]
        for service in (
            front50.build_service(resources),
            orca.build_service(resources),
            clouddriver.build_service(resources, accounts=accounts, heartbeat_seconds=1),
            rosco.build_service(resources),
        ):
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        config = GatewayConfig(version="9.9.9", services=("front50", "orca", "clouddriver", "rosco"), auth=AuthConfig())
        app = create_app(bus, config)
        command_results.install(app)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        await create_application(client, "hello")
        yield client


async def _no_orphans(mongo: AsyncMongoClient[Json]) -> None:
    assert await stop_everything(mongo["gennaker"]) == []


PIPELINE: Json = {
    "application": "hello",
    "name": "bake-and-deploy",
    "stages": [
        {
            "refId": "1",
            "type": "bake",
            "name": "Bake",
            "requisiteStageRefIds": [],
            "package": "hello_1.0-1_all",
            "baseOs": "python",
            "cloudProviderType": "local",
            "regions": ["local-b"],  # and, from the deploy downstream, "local"
        },
        {
            "refId": "2",
            "type": "deploy",
            "name": "Deploy",
            "requisiteStageRefIds": ["1"],
            "clusters": [
                {
                    "application": "hello",
                    "stack": "baked",
                    "account": "local",
                    "cloudProvider": "local",
                    "region": "local",
                    "capacity": {"min": 1, "max": 1, "desired": 1},
                    "strategy": "highlander",
                    "env": {"HELLO_VERSION": "baked"},
                    "healthCheckPath": "/health",
                    "waitForUpTimeoutSeconds": 20,
                    "stopTimeoutSeconds": 5,
                }
            ],
        },
    ],
}


async def _run(gate: Client, body: Json | None = None) -> Json:
    ref = await trigger(gate, "hello", "bake-and-deploy", body or {})
    execution: Json = await eventually(lambda: read(gate, ref), lambda e: e["status"] in FINISHED, timeout=90)
    return execution


def _bakes(execution: Json) -> dict[str, Json]:
    return {stage["context"]["region"]: stage for stage in execution["stages"] if stage["name"].startswith("Bake in")}


async def _json(gate: Client, path: str) -> Any:
    response = await gate.get(path)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_pipeline_bakes_in_two_regions_deploys_the_image_then_answers_from_cache_and_rebakes(
    gate: Client,
) -> None:
    await save(gate, PIPELINE)
    first = await _run(gate)
    assert first["status"] == "SUCCEEDED", [
        (s["name"], s["status"], s["context"].get("exception")) for s in first["stages"]
    ]
    bakes = _bakes(first)
    assert sorted(bakes) == sorted(REGIONS)
    assert all(stage["status"] == "SUCCEEDED" for stage in bakes.values())
    suffixes = {stage["context"]["amiSuffix"] for stage in bakes.values()}
    assert len(suffixes) == 1 and len(suffixes.pop()) == 14  # yyyyMMddHHmmss, the same in every region
    image = bakes["local"]["context"]["imageName"]
    assert image.startswith("hello-all-") and image.endswith("-python")
    parent = next(stage for stage in first["stages"] if stage["type"] == "bake" and not stage.get("parentStageId"))
    details = {detail["region"]: detail for detail in parent["outputs"]["deploymentDetails"]}
    assert details["local"]["imageId"] == image and details["local-b"]["imageId"] == image

    # the deploy ran the baked image: its instance answers through its port with the env it was given
    groups = await _json(gate, "/applications/hello/serverGroups")
    [group] = [g for g in groups if g["name"] == "hello-baked-v000"]
    assert group["instances"] and all(i["healthState"] == "Up" for i in group["instances"])
    found = await _json(gate, f"/images/find?provider=local&q={image}")
    assert [item["imageName"] for item in found] == [image]

    # Gate's bakery reads, in Rosco's shapes
    bake_id = bakes["local"]["context"]["bakeId"]
    status = await _json(gate, f"/api/v1/local/status/{bake_id}")
    assert (status["state"], status["result"], status["resource_id"]) == ("COMPLETED", "SUCCESS", bake_id)
    bake = await _json(gate, f"/api/v1/local/bake/{bake_id}")
    assert bake["ami"] == image and bake["artifact"]["type"] == "local/image"
    logs = await _json(gate, f"/bakery/logs/local/{bake_id}")
    assert f"Created local image: {image}" in logs["logsContent"]
    assert logs == await _json(gate, f"/api/v1/local/logs/{bake_id}")
    options = await _json(gate, "/bakery/options")
    assert {option["cloudProvider"] for option in options} == {"aws", "docker", "gce", "local"}
    assert [i["id"] for i in (await _json(gate, "/bakery/options/local"))["baseImages"]] == ["python", "exec"]
    missing = await gate.get("/bakery/options/openstack")
    assert missing.status == 404

    # the same pipeline again: both regions answered from the cache, the same image, no Packer run
    second = await _run(gate)
    assert second["status"] == "SUCCEEDED"
    again = _bakes(second)
    assert {r: s["context"]["bakeId"] for r, s in again.items()} == {
        r: s["context"]["bakeId"] for r, s in bakes.items()
    }
    assert again["local"]["context"]["imageName"] == image

    # rebake: new bakes, a new image
    third = await _run(gate, {"rebake": True})
    assert third["status"] == "SUCCEEDED"
    rebaked = _bakes(third)
    assert all(rebaked[r]["context"]["bakeId"] != bakes[r]["context"]["bakeId"] for r in REGIONS)
    assert rebaked["local"]["context"]["imageName"] != image


async def test_gate_bakes_directly_answers_the_cache_refuses_unknown_base_os_and_a_failed_bake_fails_the_stage(
    gate: Client,
) -> None:
    body = {"package_name": "hello_1.0-1_all", "base_os": "exec", "cloud_provider_type": "local", "ami_name": "direct"}
    refused = await gate.post("/api/v1/local/bake?application=hello", json={**body, "base_os": "plan9"})
    assert refused.status == 400
    assert (await refused.json())["message"] == "No virtualization settings found for 'plan9'."
    created = await gate.post("/api/v1/local/bake?application=hello", json=body)
    assert created.status == 200, await created.text()
    status = await created.json()
    assert status["state"] in ("PENDING", "RUNNING")
    done: Json = await eventually(
        lambda: _json(gate, f"/api/v1/local/status/{status['id']}"), lambda s: s["state"] == "COMPLETED", timeout=30
    )
    assert done["result"] == "SUCCESS"
    logs = (await _json(gate, f"/api/v1/local/logs/{status['id']}"))["logsContent"]
    assert "Created local image: direct-all-" in logs
    again = await gate.post("/api/v1/local/bake?application=hello", json=body)
    assert (await again.json())["id"] == status["id"]
    rebake = await gate.post("/api/v1/local/bake?application=hello&rebake=1", json=body)
    assert (await rebake.json())["id"] != status["id"]
    unknown = await gate.get("/api/v1/local/status/nope")
    assert unknown.status == 404 and (await unknown.json())["message"] == "Unable to retrieve status for 'nope'."
    pipeline = {
        "application": "hello",
        "name": "bake-missing",
        "stages": [
            {
                "refId": "1",
                "type": "bake",
                "name": "Bake",
                "requisiteStageRefIds": [],
                "package": "nosuch_1.0-1_all",
                "baseOs": "python",
                "cloudProviderType": "local",
                "region": "local",
            }
        ],
    }
    await save(gate, pipeline)
    ref = await trigger(gate, "hello", "bake-missing", {})
    failed: Json = await eventually(lambda: read(gate, ref), lambda e: e["status"] in FINISHED, timeout=60)
    assert failed["status"] == "TERMINAL"
    [child] = [s for s in failed["stages"] if s["name"] == "Bake in local"]
    assert "package nosuch=1.0-1 is not in the repository" in str(child["context"].get("exception"))
