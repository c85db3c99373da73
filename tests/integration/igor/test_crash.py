"""An Igor SIGKILLed while it waits for a stage's queued build loses nothing: another Igor takes the
task from the store and answers it once (a ``gennaker worker igor`` process killed, then an Igor in
the test's process on the same RabbitMQ virtual host and store)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bus.amqp import AmqpBus
from bus.context import MessageContext
from bus.endpoint import Endpoint
from bus.envelope import Envelope
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.igor import IgorSettings
from schemas.orca_engine import RunExternalTask
from tests.authorities import ADMIN
from tests.broker import own_vhost
from tests.integration.test_up import Process, cli_env
from tests.jenkins_server import TOKEN, USER, JenkinsServer, JobSpec, jenkins_app
from tests.mongo import start_store
from workers.igor import worker as igor

pytestmark = pytest.mark.amqp


async def start_igor(env: dict[str, str]) -> Process:
    process = await Process.start("worker", "igor", env=env)
    await process.wait_for_stderr("worker running")
    return process


async def test_a_killed_igor_leaves_its_waiting_task_to_another(amqp_url: str, unique: str, tmp_path: Path) -> None:
    jenkins = JenkinsServer(csrf=True)
    jenkins.add_job("app", JobSpec(queue_delay=1.0))
    ci: TestClient[Any, Any] = TestClient(TestServer(jenkins_app(jenkins)))
    await ci.start_server()
    master = {"name": "ci", "address": str(ci.make_url("")).rstrip("/"), "username": USER, "password": TOKEN}
    answers: list[dict[str, Any]] = []

    async def tap(envelope: Envelope, context: MessageContext) -> None:
        answers.append({"type": envelope.type, **envelope.data})

    server, mongo = await start_store()
    try:
        with own_vhost(amqp_url, f"igor-crash-{unique}") as url:
            bus = await AmqpBus.connect(url, source="/test")
            listening = await bus.consume(
                Endpoint(service="tap", kind="events", patterns=("igor.task.*",), raw_handler=tap, durable=False)
            )
            try:
                await _kill_and_take_over(
                    bus, url, str(server.address.uri), mongo["gennaker"], tmp_path, master, jenkins, unique, answers
                )
            finally:
                await listening.stop()
                await bus.close()
    finally:
        await mongo.close()
        await server.close()
        await ci.close()


async def _kill_and_take_over(
    bus: AmqpBus,
    url: str,
    mongo_uri: str,
    db: Any,
    tmp_path: Path,
    master: dict[str, str],
    jenkins: JenkinsServer,
    unique: str,
    answers: list[dict[str, Any]],
) -> None:
    env = cli_env(
        GENNAKER_AMQP_URL=url,
        GENNAKER_MONGO_URL=mongo_uri,
        GENNAKER_DATA_DIR=str(tmp_path),
        GENNAKER_METRICS_PORT="0",
        GENNAKER_IGOR=json.dumps({"jenkins": [{**master, "csrf": True}], "build_poll_interval": 0.2}),
    )

    def seen(kind: str) -> list[dict[str, Any]]:
        return [a for a in answers if a["type"].startswith(f"io.gennaker.igor.task.{kind}")]

    first = await start_igor(env)
    try:
        item = jenkins.enqueue("app").id  # it waits 1 s in the queue: longer than the first Igor lives
        context = {"master": "ci", "job": "app", "igorTask": "waitForJenkinsJobStart", "queuedBuild": str(item)}
        task = RunExternalTask(
            execution_id=unique,
            stage_id="s1",
            task_id="2",
            attempt=1,
            application="shop",
            stage_type="jenkins",
            context=context,
            authority=ADMIN,
        )
        await bus.send(task, to="igor")
        async with asyncio.timeout(10):
            while not seen("heartbeat"):
                await asyncio.sleep(0.05)  # the first Igor has the task and waits on Jenkins' queue
    except BaseException:
        print(first.logs())
        raise
    finally:
        await first.kill()
    # another Igor (in this process, on the same broker and store) takes over
    settings = Settings(igor=IgorSettings.model_validate(json.loads(env["GENNAKER_IGOR"])))
    second = ServiceHost(bus, igor.build_service(WorkerResources(settings=settings, db=db)))
    await second.start()
    try:
        async with asyncio.timeout(15):
            while not seen("completed"):
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        await second.stop()
    completed = seen("completed")
    assert len(completed) == 1, [a["type"] for a in answers]
    assert (completed[0]["status"], completed[0]["context"]["buildNumber"]) == ("SUCCEEDED", 1)
