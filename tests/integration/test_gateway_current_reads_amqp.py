"""On RabbitMQ too, a client's read after its own save lists it, though unchanged lists are answered
from what the gateway holds: the save's event (on the gateway's result queue) and the read's reply
(on its reply queue) travel apart, so this holds only if the event is counted before the save is
answered. Real parts: RabbitMQ (a virtual host of this test's), Front50 and Orca, mongoeco's server.
"""

from __future__ import annotations

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
from tests.broker import own_vhost
from tests.integration.gate.flows import create_application, exported_pipeline
from tests.mongo import fresh_database
from workers.front50 import worker as front50
from workers.orca import worker as orca

pytestmark = pytest.mark.amqp

type Client = TestClient[web.Request, web.Application]


async def test_each_read_after_a_save_lists_it_over_rabbitmq(amqp_url: str, unique: str) -> None:
    with own_vhost(amqp_url, f"gennaker-perfgate-{unique}") as url:
        async with AsyncExitStack() as stack, fresh_database() as db:
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

            await create_application(client, "shop")
            listed: list[str] = []
            for number in range(4):
                saved = await client.post("/pipelines", json=exported_pipeline("shop", f"deploy-{number}"))
                assert saved.status == 200, await saved.text()
                listed.append(f"deploy-{number}")
                for _ in range(3):
                    response = await client.get("/applications/shop/pipelineConfigs")
                    assert response.status == 200, await response.text()
                    assert [pipeline["name"] for pipeline in await response.json()] == listed
