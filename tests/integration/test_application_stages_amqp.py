"""A pipeline's ``updateApplication`` stage over RabbitMQ, as ``gennaker up`` runs with a broker: the
gateway, Front50 and Orca on one bus (a virtual host of the test's own), mongoeco's wire server.
Front50's answer reaches the stage through the broker's event exchange, and the pipeline finishes."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bus.amqp import AmqpBus
from bus.service import ServiceHost
from gateway.app import create_app
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.json_types import Json
from tests.broker import own_vhost
from tests.mongo import fresh_database
from workers.front50 import worker as front50
from workers.orca import worker as orca

pytestmark = pytest.mark.amqp

type Client = TestClient[web.Request, web.Application]


async def finished(client: Client, ref: str, timeout: float) -> Json:
    deadline = time.monotonic() + timeout
    while True:
        execution: Json = await (await client.get(ref)).json()
        if execution["status"] not in ("NOT_STARTED", "RUNNING") or time.monotonic() > deadline:
            return execution
        await asyncio.sleep(0.05)


async def test_an_update_application_stage_finishes_over_rabbitmq(amqp_url: str, unique: str) -> None:
    with own_vhost(amqp_url, f"gennaker-appstages-{unique}") as url:
        async with fresh_database() as db, AsyncExitStack() as stack:
            bus = await AmqpBus.connect(url, source=f"/gennaker/up/{unique}")
            stack.push_async_callback(bus.close)
            resources = WorkerResources(settings=Settings(), db=db)
            for service in (front50.build_service(resources), orca.build_service(resources)):
                host = ServiceHost(bus, service)
                await host.start()
                stack.push_async_callback(host.stop)
            config = GatewayConfig(version="9.9.9", services=("front50", "orca"))
            client: Client = TestClient(TestServer(create_app(bus, config)))
            await client.start_server()
            stack.push_async_callback(client.close)

            create = {"type": "createApplication", "application": {"name": "shop", "email": "dev@example.com"}}
            created = await client.post("/tasks", json={"application": "shop", "job": [create]})
            assert created.status == 200, await created.text()
            task = await finished(client, (await created.json())["ref"], timeout=10)
            assert task["status"] == "SUCCEEDED", task

            update = {"refId": "1", "type": "updateApplication", "application": {"name": "shop", "email": "ops@x.io"}}
            pipeline = {"application": "shop", "name": "update", "stages": [update]}
            started = await client.post("/pipelines/start", json=pipeline)
            assert started.status == 202, await started.text()
            execution = await finished(client, (await started.json())["ref"], timeout=5)

            assert execution["status"] == "SUCCEEDED", execution
            assert (await (await client.get("/applications/shop")).json())["attributes"]["email"] == "ops@x.io"
