"""Igor on the real RabbitMQ, in a virtual host of its own: Orca's task command in, Igor's answer out,
and a query answered, against the local Jenkins server."""

from __future__ import annotations

import asyncio
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
from schemas.igor import BuildReply, IgorSettings, JenkinsMasterConfig, ListJobs
from schemas.orca_engine import RunExternalTask
from tests.authorities import ADMIN
from tests.broker import own_vhost
from tests.jenkins_server import TOKEN, USER, JenkinsServer, jenkins_app
from tests.mongo import fresh_database
from workers.igor import worker as igor

pytestmark = pytest.mark.amqp


async def test_igor_queues_a_build_and_answers_over_rabbitmq(amqp_url: str, unique: str) -> None:
    jenkins = JenkinsServer(csrf=True)
    jenkins.add_job("team/app")
    ci: TestClient[Any, Any] = TestClient(TestServer(jenkins_app(jenkins)))
    await ci.start_server()
    master = JenkinsMasterConfig.model_validate(
        {"name": "ci", "address": str(ci.make_url("")).rstrip("/"), "username": USER, "password": TOKEN, "csrf": True}
    )
    settings = Settings(igor=IgorSettings(jenkins=[master], poll_interval=60))
    answered: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def tap(envelope: Envelope, context: MessageContext) -> None:
        await answered.put(envelope.data)

    try:
        with own_vhost(amqp_url, f"igor-{unique}") as url:
            async with fresh_database() as db:
                bus = await AmqpBus.connect(url, source="/test")
                host = ServiceHost(bus, igor.build_service(WorkerResources(settings=settings, db=db)))
                await host.start()
                listening = await bus.consume(
                    Endpoint(
                        service=f"tap-{unique}",
                        kind="events",
                        patterns=("igor.task.completed",),
                        raw_handler=tap,
                        durable=False,
                    )
                )
                try:
                    task = RunExternalTask(
                        execution_id=unique,
                        stage_id="s1",
                        task_id="1",
                        attempt=1,
                        application="shop",
                        stage_type="jenkins",
                        context={"master": "ci", "job": "team/job/app", "igorTask": "startJenkinsJob"},
                        authority=ADMIN,
                    )
                    await bus.send(task, to="igor")
                    answer = await asyncio.wait_for(answered.get(), timeout=10)
                    assert (answer["execution_id"], answer["status"]) == (unique, "SUCCEEDED")
                    assert answer["context"]["queuedBuild"] == str(max(jenkins.queue))
                    jobs = await bus.ask(ListJobs(master="ci", authority=ADMIN), timeout=5)
                    assert isinstance(jobs, BuildReply) and jobs.value == ["team/job/app"]
                finally:
                    await listening.stop()
                    await host.stop()
                    await bus.close()
    finally:
        await ci.close()
