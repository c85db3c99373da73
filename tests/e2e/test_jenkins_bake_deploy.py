"""Issue 17's whole proof through Gate: ``jenkins`` (parameters, properties file) → ``bake`` (the local
template, two regions at once) → ``deploy`` of the baked image with the local provider.

The Jenkins job is the local server's (``tests/jenkins_server.py``); its properties file names the
package the bake takes (``${PACKAGE}``), so what the build wrote decides what is baked and deployed.
Rosco runs the real Packer, as in ``tests/e2e/test_bake_pipeline.py``, whose bakery settings this
module reuses.
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
from schemas.igor import IgorSettings, JenkinsMasterConfig
from schemas.json_types import Json
from schemas.rosco import RoscoSettings
from tests.e2e.test_bake_pipeline import REGIONS, ROOT
from tests.integration.clouddriver.conftest import stop_everything
from tests.integration.gate.conftest import Client, eventually
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import FINISHED, by_ref, read, save, trigger
from tests.jenkins_server import TOKEN, USER, JenkinsServer, JobSpec, Parameter, jenkins_app
from workers.clouddriver import worker as clouddriver
from workers.front50 import worker as front50
from workers.igor import worker as igor
from workers.orca import worker as orca
from workers.rosco import worker as rosco

pytestmark = pytest.mark.asyncio(loop_scope="module")


def bakery(root: Path) -> RoscoSettings:
    """Rosco's defaults with the local provider's base images in both regions."""
    defaults = RoscoSettings().bakery_defaults
    local = defaults["local"].model_dump(by_alias=True)
    for image in local["baseImages"]:
        image["virtualizationSettings"] = [{"region": region, "runner": "python"} for region in REGIONS]
    return RoscoSettings.model_validate(
        {
            "imagesDir": str(root / "images"),
            "localRepository": str(root / "packages"),
            "bakeryDefaults": {**{k: v.model_dump(by_alias=True) for k, v in defaults.items()}, "local": local},
        }
    )


def build_output(parameters: dict[str, str]) -> dict[str, bytes]:
    return {"build.properties": f"PACKAGE=hello_{parameters['VERSION']}_all\n".encode()}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gate(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    root = tmp_path_factory.mktemp("jenkins-bake-deploy")
    (root / "packages" / "hello_2.0-1_all").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "hello" / "app.py", root / "packages" / "hello_2.0-1_all" / "app.py")
    jenkins = JenkinsServer(csrf=True)
    jenkins.add_job("hello/package", JobSpec([Parameter("VERSION")], queue_delay=0.1, artifacts=build_output))
    async with AsyncExitStack() as stack:
        ci: TestClient[Any, Any] = TestClient(TestServer(jenkins_app(jenkins)))
        await ci.start_server()
        stack.push_async_callback(ci.close)
        master = JenkinsMasterConfig.model_validate(
            {
                "name": "ci",
                "address": str(ci.make_url("")).rstrip("/"),
                "username": USER,
                "password": TOKEN,
                "csrf": True,
            }
        )
        server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
        address = await server.start()
        stack.push_async_callback(server.close)
        mongo: AsyncMongoClient[Json] = AsyncMongoClient(address.uri)
        stack.push_async_callback(mongo.close)

        async def no_orphans() -> None:
            assert await stop_everything(mongo["gennaker"]) == []

        stack.push_async_callback(no_orphans)
        settings = Settings(
            data_dir=root, rosco=bakery(root), igor=IgorSettings(jenkins=[master], build_poll_interval=0.1)
        )
        resources = WorkerResources(settings=settings, db=mongo["gennaker"])
        bus = MemoryBus()
        stack.push_async_callback(bus.close)
        accounts = [{"name": "local", "cloudProvider": "local", "local": {"imageDirs": [str(root / "images")]}}]
        for service in (
            front50.build_service(resources),
            orca.build_service(resources),
            clouddriver.build_service(resources, accounts=accounts, heartbeat_seconds=1),
            rosco.build_service(resources),
            igor.build_service(resources),
        ):
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        names = ("front50", "orca", "clouddriver", "rosco", "igor")
        app = create_app(bus, GatewayConfig(version="9.9.9", services=names, auth=AuthConfig()))
        command_results.install(app)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        await create_application(client, "hello")
        yield client


PIPELINE: Json = {
    "application": "hello",
    "name": "build-bake-deploy",
    "stages": [
        {
            "refId": "build",
            "type": "jenkins",
            "name": "Build",
            "requisiteStageRefIds": [],
            "master": "ci",
            "job": "hello/job/package",
            "parameters": {"VERSION": "2.0-1"},
            "propertyFile": "build.properties",
        },
        {
            "refId": "bake",
            "type": "bake",
            "name": "Bake",
            "requisiteStageRefIds": ["build"],
            "package": "${PACKAGE}",
            "baseOs": "python",
            "cloudProviderType": "local",
            "regions": ["local-b"],  # and, from the deploy downstream, "local"
        },
        {
            "refId": "deploy",
            "type": "deploy",
            "name": "Deploy",
            "requisiteStageRefIds": ["bake"],
            "clusters": [
                {
                    "application": "hello",
                    "stack": "built",
                    "account": "local",
                    "cloudProvider": "local",
                    "region": "local",
                    "capacity": {"min": 1, "max": 1, "desired": 1},
                    "strategy": "highlander",
                    "env": {"HELLO_VERSION": "built"},
                    "healthCheckPath": "/health",
                    "waitForUpTimeoutSeconds": 20,
                    "stopTimeoutSeconds": 5,
                }
            ],
        },
    ],
}


async def test_a_jenkins_build_feeds_a_bake_in_two_regions_whose_image_is_deployed(gate: Client) -> None:
    await save(gate, PIPELINE)
    ref = await trigger(gate, "hello", "build-bake-deploy", {})
    execution: Json = await eventually(lambda: read(gate, ref), lambda e: e["status"] in FINISHED, timeout=90)
    assert execution["status"] == "SUCCEEDED", [
        (stage["name"], stage["status"], stage["context"].get("exception")) for stage in execution["stages"]
    ]
    assert by_ref(execution, "build")["outputs"]["PACKAGE"] == "hello_2.0-1_all"
    bakes = {s["context"]["region"]: s for s in execution["stages"] if s["name"].startswith("Bake in")}
    assert sorted(bakes) == sorted(REGIONS)
    image = bakes["local"]["context"]["imageName"]
    assert image.startswith("hello-all-") and bakes["local-b"]["context"]["imageName"] == image
    response = await gate.get("/applications/hello/serverGroups")
    groups = await response.json()
    [group] = [g for g in groups if g["name"] == "hello-built-v000"]
    assert group["instances"] and all(instance["healthState"] == "Up" for instance in group["instances"])
