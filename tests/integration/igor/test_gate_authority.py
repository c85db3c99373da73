"""Who may use a Jenkins master, through Gate with static tokens: READ lists it and its jobs, WRITE
triggers a build, and the authority is judged by Igor from what the pipeline runs as, not only by Gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
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
from schemas.igor import IgorSettings, JenkinsMasterConfig
from schemas.json_types import Json
from tests.integration.gate.conftest import AUTH, Client, as_user
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import by_ref, finished, save, trigger
from tests.jenkins_server import TOKEN, USER, JenkinsServer, jenkins_app
from workers.front50 import worker as front50
from workers.igor import worker as igor
from workers.orca import worker as orca

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gate() -> AsyncIterator[tuple[Client, JenkinsServer]]:
    jenkins = JenkinsServer(csrf=False)
    jenkins.add_job("app")
    async with AsyncExitStack() as stack:
        ci: TestClient[Any, Any] = TestClient(TestServer(jenkins_app(jenkins)))
        await ci.start_server()
        stack.push_async_callback(ci.close)
        address = str(ci.make_url("")).rstrip("/")
        masters = [
            JenkinsMasterConfig.model_validate(
                {
                    "name": "ci",
                    "address": address,
                    "username": USER,
                    "password": TOKEN,
                    "permissions": {"READ": ["dev", "ops"], "WRITE": ["ops"]},
                }
            ),
            JenkinsMasterConfig.model_validate(
                {"name": "secret-ci", "address": address, "permissions": {"READ": ["ops"], "WRITE": ["ops"]}}
            ),
        ]
        server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
        mongo_address = await server.start()
        stack.push_async_callback(server.close)
        mongo: AsyncMongoClient[Json] = AsyncMongoClient(mongo_address.uri)
        stack.push_async_callback(mongo.close)
        settings = Settings(igor=IgorSettings(jenkins=masters, build_poll_interval=0.05, poll_interval=60))
        resources = WorkerResources(settings=settings, db=mongo["gennaker"])
        bus = MemoryBus()
        stack.push_async_callback(bus.close)
        for service in (front50.build_service(resources), orca.build_service(resources), igor.build_service(resources)):
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        app = create_app(bus, GatewayConfig(version="9.9.9", services=("front50", "orca", "igor"), auth=AUTH))
        command_results.install(app)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        await create_application(client, "open-app", headers=as_user("admin"))
        pipeline = {
            "application": "open-app",
            "name": "build",
            "stages": [{"refId": "1", "type": "jenkins", "name": "Build", "master": "ci", "job": "app"}],
        }
        await save(client, pipeline, headers=as_user("admin"))
        yield client, jenkins


async def test_read_lists_masters_and_jobs(gate: tuple[Client, JenkinsServer]) -> None:
    client, _ = gate
    seen = {}
    for user in ("admin", "dev", "ops", "outsider"):
        response = await client.get("/v2/builds", headers=as_user(user))
        assert response.status == 200
        seen[user] = await response.json()
    assert seen == {"admin": ["ci", "secret-ci"], "dev": ["ci"], "ops": ["ci", "secret-ci"], "outsider": []}
    assert (await client.get("/v2/builds")).status == 401
    dev_jobs = await client.get("/v2/builds/ci/jobs", headers=as_user("dev"))
    assert (dev_jobs.status, await dev_jobs.json()) == (200, ["app"])
    refused = await client.get("/v3/builds/secret-ci/builds", params={"job": "app"}, headers=as_user("dev"))
    assert refused.status == 403
    assert "Access denied to master 'secret-ci': READ is required" in (await refused.json())["message"]


async def test_igor_judges_write_from_the_authority_the_pipeline_runs_with(gate: tuple[Client, JenkinsServer]) -> None:
    client, jenkins = gate
    refused = await finished(
        client, await trigger(client, "open-app", "build", headers=as_user("dev")), headers=as_user("dev")
    )
    assert refused["status"] == "TERMINAL"
    errors = by_ref(refused, "1")["context"]["exception"]["details"]["errors"]
    assert errors == ["Access denied to master 'ci': WRITE is required"]
    assert jenkins.queue == {}
    built = await finished(
        client, await trigger(client, "open-app", "build", headers=as_user("ops")), headers=as_user("ops")
    )
    assert built["status"] == "SUCCEEDED", by_ref(built, "1")["context"].get("exception")
    assert len(jenkins.queue) == 1
