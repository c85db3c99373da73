"""Jenkins end to end: Gate, Front50, Orca, Igor and Echo on one bus against the local Jenkins server.

One system serves the module (a Jenkins with folders, CSRF crumbs, queue delays, a choice
parameter, an UNSTABLE job; a second master nobody answers on). Through Gate: a pipeline's
``jenkins`` stage builds a job in a folder with parameters and its properties file feeds a later
stage's expression; the build links back to the execution; a bad choice, an unknown job and an
absent master fail with Igor's messages; UNSTABLE fails unless ``markUnstableAsSuccessful``;
cancelling stops the build; ``/v2/builds`` and ``/v3/builds`` read masters, jobs, builds and a
build's console text; and a build finishing starts the pipeline whose ``jenkins`` trigger names
its job, once, although two Igors poll the master.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
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
from gennaker.host import free_port
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.auth_settings import AuthConfig
from schemas.igor import IgorSettings, JenkinsMasterConfig
from schemas.json_types import Json
from tests.integration.gate.conftest import Client, eventually
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import by_ref, finished, save, trigger, until
from tests.jenkins_server import TOKEN, USER, JenkinsServer, JobSpec, Parameter, jenkins_app
from workers.echo import worker as echo
from workers.front50 import worker as front50
from workers.igor import worker as igor
from workers.igor.masters import Masters
from workers.orca import worker as orca

pytestmark = pytest.mark.asyncio(loop_scope="module")

BUILD = "team/job/app-build"


def build_files(parameters: dict[str, str]) -> dict[str, bytes]:
    properties = f"# written by the build\nIMAGE=shop-{parameters['VERSION']}\nTARGET = {parameters['ENV']}\n"
    return {"build.properties": properties.encode(), "out/shop.tar.gz": b"\x1f\x8b tarball"}


@dataclass
class System:
    client: Client
    jenkins: JenkinsServer


def master(name: str, address: str) -> JenkinsMasterConfig:
    return JenkinsMasterConfig.model_validate(
        {"name": name, "address": address, "username": USER, "password": TOKEN, "csrf": True, "timeout": 2}
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def system() -> AsyncIterator[System]:
    jenkins = JenkinsServer(csrf=True)
    choices = Parameter("ENV", "choice", choices=["staging", "prod"])
    jenkins.add_job("team/app-build", JobSpec([choices, Parameter("VERSION")], queue_delay=0.3, artifacts=build_files))
    jenkins.add_job("flaky", JobSpec(result="UNSTABLE"))
    jenkins.add_job("broken", JobSpec(result="FAILURE", artifacts={"build.properties": b"REASON=tests failed\n"}))
    jenkins.add_job("slow", JobSpec(duration=60))
    jenkins.add_job("libs/deep/nightly", JobSpec())
    async with AsyncExitStack() as stack:
        jenkins_client: TestClient[Any, Any] = TestClient(TestServer(jenkins_app(jenkins)))
        await jenkins_client.start_server()
        stack.push_async_callback(jenkins_client.close)
        address = str(jenkins_client.make_url("")).rstrip("/")
        server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
        mongo_address = await server.start()
        stack.push_async_callback(server.close)
        mongo: AsyncMongoClient[Json] = AsyncMongoClient(mongo_address.uri)
        stack.push_async_callback(mongo.close)
        igor_settings = IgorSettings(
            jenkins=[master("ci", address), master("away", f"http://127.0.0.1:{free_port()}")],
            poll_interval=0.2,
            build_poll_interval=0.1,
            start_retries=1,
            start_backoff=0.05,
            base_url="http://deck.test",
        )
        resources = WorkerResources(settings=Settings(igor=igor_settings), db=mongo["gennaker"])
        bus = MemoryBus()
        stack.push_async_callback(bus.close)
        services = [front50.build_service(resources), orca.build_service(resources), echo.build_service(resources)]
        services += [igor.build_service(resources, masters=Masters(igor_settings.jenkins)) for _ in range(2)]
        for service in services:
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        names = ("front50", "orca", "echo", "igor")
        app = create_app(bus, GatewayConfig(version="9.9.9", services=names, auth=AuthConfig()))
        command_results.install(app)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        await create_application(client, "shop")
        yield System(client, jenkins)


def jenkins_stage(job: str, **context: Any) -> Json:
    return {"refId": "build", "type": "jenkins", "name": "Build", "master": "ci", "job": job, **context}


async def run(system: System, name: str, *stages: Json) -> Json:
    await save(system.client, {"application": "shop", "name": name, "stages": list(stages)})
    ref = await trigger(system.client, "shop", name)
    return await finished(system.client, ref, timeout=20)


async def test_a_jenkins_build_with_parameters_feeds_its_properties_to_a_later_stage(system: System) -> None:
    variables = {
        "refId": "use",
        "type": "evaluateVariables",
        "name": "Use the build",
        "requisiteStageRefIds": ["build"],
        "variables": [{"key": "image", "value": "${IMAGE}-${propertyFileContents['TARGET']}"}],
    }
    build = jenkins_stage(BUILD, parameters={"ENV": "prod", "VERSION": "1.2.3"}, propertyFile="build.properties")
    execution = await run(system, "build and use", build, variables)
    assert execution["status"] == "SUCCEEDED", json.dumps(execution)[:3000]
    stage = by_ref(execution, "build")
    assert [task["name"] for task in stage["tasks"]] == [
        "startJenkinsJob",
        "waitForJenkinsJobStart",
        "monitorJenkinsJob",
        "getBuildProperties",
        "getBuildArtifacts",
    ]
    assert stage["context"]["buildInfo"]["result"] == "SUCCESS"
    assert stage["outputs"]["IMAGE"] == "shop-1.2.3"
    assert {a["name"] for a in stage["outputs"]["artifacts"]} == {"build.properties", "out/shop.tar.gz"}
    assert by_ref(execution, "use")["outputs"]["image"] == "shop-1.2.3-prod"
    job = system.jenkins.job("team/app-build")
    number = stage["context"]["buildNumber"]
    built = job.builds[number - 1]
    assert built.parameters == {"ENV": "prod", "VERSION": "1.2.3"}
    assert f"/executions/details/{execution['id']}" in (built.description or "")
    assert len(system.jenkins.idempotency_keys) == len(set(system.jenkins.idempotency_keys)) >= 1


async def test_igor_refuses_a_bad_choice_an_unknown_job_and_names_an_absent_master(system: System) -> None:
    bad = await run(system, "bad choice", jenkins_stage(BUILD, parameters={"ENV": "moon", "VERSION": "1"}))
    unknown = await run(system, "unknown job", jenkins_stage("nope"))
    away = await run(system, "away", {**jenkins_stage("flaky"), "master": "away"})
    errors = [by_ref(e, "build")["context"]["exception"]["details"]["errors"] for e in (bad, unknown, away)]
    assert errors[0] == ["`moon` is not a valid choice for `ENV`. Valid choices are: staging, prod"]
    assert errors[1] == ["Job 'nope' not found on master 'ci'"]
    assert "Jenkins master 'away' did not answer after 2 attempts" in errors[2][0]
    assert [e["status"] for e in (bad, unknown, away)] == ["TERMINAL"] * 3


async def test_unstable_fails_unless_marked_successful(system: System) -> None:
    failed = await run(system, "unstable", jenkins_stage("flaky"))
    passed = await run(system, "unstable ok", jenkins_stage("flaky", markUnstableAsSuccessful=True))
    assert failed["status"] == "TERMINAL"
    assert by_ref(failed, "build")["context"]["exception"]["details"]["errors"] == ["Job is unstable"]
    assert passed["status"] == "SUCCEEDED"
    assert by_ref(passed, "build")["context"]["buildInfo"]["result"] == "UNSTABLE"


async def test_restarting_the_stage_builds_again_and_keeps_the_last_build_as_previous(system: System) -> None:
    await save(system.client, {"application": "shop", "name": "retry", "stages": [jenkins_stage("flaky")]})
    ref = await trigger(system.client, "shop", "retry")
    failed = await finished(system.client, ref, timeout=20)
    stage = by_ref(failed, "build")
    first = stage["context"]["buildNumber"]
    response = await system.client.put(f"{ref}/stages/{stage['id']}/restart")
    assert response.status == 200, await response.text()
    again = await until(
        system.client,
        ref,
        lambda e: e["status"] == "TERMINAL" and by_ref(e, "build")["context"].get("buildNumber") not in (None, first),
    )
    restarted = by_ref(again, "build")["context"]
    assert restarted["buildNumber"] == first + 1
    assert restarted["restartDetails"]["previousBuildInfo"]["number"] == first
    assert restarted["restartDetails"]["restartedBy"] == "anonymous"


async def test_a_failed_build_still_offers_its_properties_file(system: System) -> None:
    execution = await run(system, "broken", jenkins_stage("broken", propertyFile="build.properties"))
    assert execution["status"] == "TERMINAL"
    assert by_ref(execution, "build")["context"]["exception"]["details"]["errors"] == ["Job failed (see Jenkins)"]
    tried = next(stage for stage in execution["stages"] if stage["name"] == "Try to get properties file")
    assert tried["status"] == "SUCCEEDED"
    assert tried["outputs"]["REASON"] == "tests failed"


async def test_cancelling_the_pipeline_stops_the_build(system: System) -> None:
    await save(system.client, {"application": "shop", "name": "slow", "stages": [jenkins_stage("slow")]})
    ref = await trigger(system.client, "shop", "slow")
    await until(
        system.client, ref, lambda e: by_ref(e, "build")["context"].get("buildInfo", {}).get("building") is True
    )
    response = await system.client.put(f"{ref}/cancel")
    assert response.status in (200, 202), await response.text()
    execution = await finished(system.client, ref, timeout=10)
    assert execution["status"] == "CANCELED"
    job = system.jenkins.job("slow")
    await eventually(lambda: asyncio.sleep(0, job.builds[-1].outcome(0)), lambda outcome: outcome == "ABORTED")


async def test_gate_reads_masters_jobs_and_builds(system: System) -> None:
    client = system.client

    async def read(path: str, **params: str) -> Any:
        response = await client.get(path, params=params)
        assert response.status == 200, await response.text()
        return await response.json()

    assert await read("/v2/builds") == ["away", "ci"]
    assert await read("/v3/builds", type="jenkins") == ["away", "ci"]
    jobs = await read("/v2/builds/ci/jobs")
    assert set(jobs) >= {BUILD, "flaky", "slow", "libs/job/deep/job/nightly"}
    assert await read("/v3/builds/ci/jobs") == jobs
    config = await read(f"/v2/builds/ci/jobs/{BUILD}")
    assert [p["name"] for p in config["parameterDefinitionList"]] == ["ENV", "VERSION"]
    assert (await read("/v3/builds/ci/job", job=BUILD))["parameterDefinitionList"][0]["choices"] == ["staging", "prod"]
    builds = await read("/v2/builds/ci/builds/flaky")
    assert builds and all(build["result"] == "UNSTABLE" for build in builds)
    one = await read(f"/v2/builds/ci/build/{builds[0]['number']}/flaky")
    assert one == await read(f"/v3/builds/ci/build/{builds[0]['number']}", job="flaky")
    assert one["number"] == builds[0]["number"]
    missing = await client.get("/v2/builds/nowhere/jobs")
    assert missing.status == 404
    assert "Master 'nowhere' not found" in await missing.text()

    console = f"/v3/builds/ci/build/{builds[0]['number']}/consoleText"
    whole = await client.get(console, params={"job": "flaky"})
    assert whole.status == 200 and whole.content_type == "text/plain"
    assert (await whole.text()).endswith("Building flaky\nFinished: UNSTABLE\n")
    assert "X-More-Data" not in whole.headers
    cut = await client.get(console, params={"job": "flaky", "maxBytes": "7"})
    assert await cut.text() == "Started" and cut.headers["X-More-Data"] == "true"
    too_much = await client.get(console, params={"job": "flaky", "maxBytes": str(2 * 1024 * 1024)})
    assert too_much.status == 400 and "maxBytes" in await too_much.text()
    no_build = await client.get("/v3/builds/ci/build/999/consoleText", params={"job": "flaky"})
    assert no_build.status == 404


async def test_a_finished_build_starts_the_pipeline_whose_trigger_names_it_once(system: System) -> None:
    client = system.client
    job = "libs/job/deep/job/nightly"
    system.jenkins.job("libs/deep/nightly").spec.artifacts = {"release.json": b'{"channel": "beta"}'}
    triggered = {"type": "jenkins", "enabled": True, "master": "ci", "job": job, "propertyFile": "release.json"}
    stages = [{"refId": "1", "type": "wait", "name": "wait", "waitTime": 0}]
    await save(client, {"application": "shop", "name": "on nightly", "triggers": [triggered], "stages": stages})
    unstable = {"type": "jenkins", "enabled": True, "master": "ci", "job": "flaky"}
    await save(client, {"application": "shop", "name": "on flaky", "triggers": [unstable], "stages": stages})
    await asyncio.sleep(0.5)  # both Igors have polled the job once: its earlier builds start nothing
    system.jenkins.enqueue("libs/deep/nightly")
    system.jenkins.enqueue("flaky")  # ends UNSTABLE: Echo starts nothing for it

    async def executions() -> list[Json]:
        response = await client.get("/applications/shop/pipelines", params={"limit": "50"})
        listed: list[Json] = await response.json()
        return [execution for execution in listed if execution.get("name") in ("on nightly", "on flaky")]

    found: list[Json] = await eventually(executions, lambda runs: len(runs) >= 1, timeout=10)
    await asyncio.sleep(0.6)  # three more polls by each Igor
    found = await executions()
    assert [execution["name"] for execution in found] == ["on nightly"]
    trigger_info = found[0]["trigger"]
    assert trigger_info["link"].endswith("/job/libs/job/deep/job/nightly/1/")
    assert trigger_info["type"] == "jenkins"
    assert trigger_info["buildInfo"]["result"] == "SUCCESS"
    assert trigger_info["properties"] == {"channel": "beta"}
