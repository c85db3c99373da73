"""The gateway while RabbitMQ is away: every request is a 503 with ``Retry-After`` (never a 500, never
a hang), ``/health`` says in words what is down, and all is well again once the broker is back.

Real parts: RabbitMQ (a virtual host of our own, whose connections are closed and, until the test
lets them, refused: :func:`tests.broker.broker_away`), Front50 and Orca on the same bus as the
gateway (as ``gennaker up`` runs them), mongoeco's wire server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

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
from tests.broker import broker_away, own_vhost
from tests.mongo import fresh_database
from workers.front50 import worker as front50
from workers.orca import worker as orca

pytestmark = pytest.mark.amqp

type Client = TestClient[web.Request, web.Application]
TASK = {"application": "shop", "job": [{"type": "createApplication", "application": {"name": "shop"}}]}
PIPELINE = {"application": "shop", "name": "deploy", "stages": [{"refId": "1", "type": "wait", "waitTime": 0}]}
REQUESTS: list[tuple[str, str, Json | None]] = [
    ("GET", "/applications", None),
    ("GET", "/applications/shop/pipelineConfigs", None),
    ("POST", "/pipelines", PIPELINE),
    ("POST", "/pipelines/shop/deploy", {}),
    ("POST", "/tasks", TASK),
    ("POST", "/webhooks/webhook/ci", {"branch": "main"}),
    ("GET", "/events/stream", None),
]


async def until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def gateway(amqp_url: str, unique: str) -> AsyncIterator[tuple[Client, AmqpBus, str]]:
    vhost = f"gennaker-outage-{unique}"
    with own_vhost(amqp_url, vhost) as url:
        async with AsyncExitStack() as stack, fresh_database() as db:
            bus = await AmqpBus.connect(f"{url}?reconnect_interval=0.3", source=f"/gennaker/up/{unique}")
            stack.push_async_callback(bus.close)
            resources = WorkerResources(settings=Settings(), db=db)
            for service in (front50.build_service(resources), orca.build_service(resources)):
                host = ServiceHost(bus, service)
                await host.start()
                stack.push_async_callback(host.stop)
            config = GatewayConfig(version="9.9.9", services=("front50", "orca"), health_timeout=1.0)
            client: Client = TestClient(TestServer(create_app(bus, config)))
            await client.start_server()
            stack.push_async_callback(client.close)
            yield client, bus, vhost


async def test_while_the_broker_is_away_every_request_is_a_503_with_retry_after(
    amqp_url: str, unique: str, gateway: tuple[Client, AmqpBus, str]
) -> None:
    client, bus, vhost = gateway
    assert (await client.get("/health")).status == 200

    with broker_away(amqp_url, vhost, f"/gennaker/up/{unique}") as closed:
        assert closed == 1
        await until(lambda: bus.outage() is not None)
        health = await client.get("/health")
        body = await health.json()
        answers = []
        for method, path, payload in REQUESTS:
            started = time.monotonic()
            response = await client.request(method, path, json=payload)
            answers.append((path, response.status, response.headers.get("Retry-After"), time.monotonic() - started))
            text = await response.text()
            assert "object at" not in text and "internal error" not in text, text

    assert health.status == 503 and health.headers["Retry-After"] == "5"
    assert body["status"] == "DOWN"
    assert body["broker"]["status"] == "DOWN"
    assert "connection to RabbitMQ at 127.0.0.1:5672" in body["broker"]["error"], body
    assert "lost; reconnecting" in body["broker"]["error"], body
    assert {service["error"] for service in body["services"].values()} == {
        "not asked: the message broker is unreachable"
    }
    assert [(path, status, retry) for path, status, retry, _ in answers] == [
        (path, 503, "5") for _, path, _ in REQUESTS
    ], answers
    assert max(seconds for *_, seconds in answers) < 2.0, answers  # told at once, not left waiting

    await until(lambda: bus.outage() is None)
    deadline = time.monotonic() + 20
    while (health := await client.get("/health")).status != 200:
        assert time.monotonic() < deadline, await health.text()
        await asyncio.sleep(0.2)
    for method, path, payload in (("GET", "/applications", None), ("POST", "/webhooks/webhook/ci", {})):
        response = await client.request(method, path, json=payload)
        assert response.status == 200, await response.text()
