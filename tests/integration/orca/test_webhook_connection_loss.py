"""Orca losing its RabbitMQ connections while webhook calls are in flight (found in a chaos run:
4 of 20 calls were made twice, ~50 s apart, with nothing logged).

The broker closes Orca's connections (``rabbitmqctl close_connection``, as a network failure or a
broker restart would) while the endpoint holds every request; the channel's closing cancels the
handlers awaiting them. Each call must still be made once: it runs on, stores its answer, and the
redelivered command recognises it (in flight, or answered) instead of calling again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from pymongo.asynchronous.database import AsyncDatabase

from bus.amqp import AmqpBus
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.idempotency import HEADER, parse_header
from tests.broker import close_connections, own_vhost
from tests.integration.orca.conftest import FAST, Orca, by_ref, pipeline, stage, summary
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.orca.worker import build_service

pytestmark = pytest.mark.amqp

CALLS = 10


@dataclass
class HeldEndpoint:
    """Holds every request until :attr:`release` is set, counting calls per ``Idempotency-Key``."""

    base: str = ""
    keys: Counter[str] = field(default_factory=Counter)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.keys[parse_header(request.headers.get(HEADER, '"none"'))] += 1
        if sum(self.keys.values()) >= CALLS:
            self.arrived.set()
        await self.release.wait()
        return web.json_response({"ok": True})


@pytest.fixture
async def endpoint() -> AsyncIterator[HeldEndpoint]:
    server = HeldEndpoint()
    app = web.Application()
    app.router.add_post("/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()


async def test_closing_orcas_connections_mid_call_makes_each_webhook_call_once(
    amqp_url: str, unique: str, db: AsyncDatabase[dict[str, Any]], endpoint: HeldEndpoint
) -> None:
    vhost = f"gennaker-faults-{unique}"
    with own_vhost(amqp_url, vhost) as url:
        orca_bus = await AmqpBus.connect(f"{url}?reconnect_interval=0.5", source=f"/gennaker/orca/{unique}")
        client = await AmqpBus.connect(url, source="/test/client")
        host = ServiceHost(
            orca_bus, build_service(WorkerResources(Settings(outbound=LOOPBACK_TEST_SERVERS), db), engine=FAST)
        )
        await host.start()
        orca = Orca(client, db)
        try:
            # a call times out only long after the endpoint lets it go: any repeat is the lost connection's doing
            hook = stage("1", "webhook", url=endpoint.base + "/deploy", timeoutSeconds=60, retryBackoffMs=100)
            ids = [await orca.start(pipeline(hook)) for _ in range(CALLS)]
            await asyncio.wait_for(endpoint.arrived.wait(), 20)

            closed = await asyncio.to_thread(close_connections, vhost, f"/gennaker/orca/{unique}")
            await asyncio.sleep(0.5)  # the handlers awaiting the calls are cancelled by now
            endpoint.release.set()

            executions = [await orca.finished(execution_id, timeout=30) for execution_id in ids]
            letters = await client.dead_letters()
        finally:
            await host.stop()
            await orca_bus.close()
            await client.close()

    assert closed >= 1
    assert [summary(execution)["status"] for execution in executions] == ["SUCCEEDED"] * CALLS
    keys = [by_ref(execution, "1")["context"]["webhookCall"]["idempotencyKey"] for execution in executions]
    assert sorted(endpoint.keys) == sorted(keys), "every call carried its stage's key"
    assert set(endpoint.keys.values()) == {1}, f"calls repeated: {endpoint.keys}"
    assert [by_ref(execution, "1")["context"]["webhookCall"]["attempt"] for execution in executions] == [1] * CALLS
    assert not letters
