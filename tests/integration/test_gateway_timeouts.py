"""The gateway waits as long as the settings say: ``query_timeout`` for reads, ``command_timeout`` for writes.

Both go through :func:`gennaker.commands._runtime.serve_gateway`, as ``gennaker up`` wires them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient

from bus import MemoryBus
from bus.service import ServiceHost
from gennaker.commands._runtime import serve_gateway
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.front50 import ApplicationFound, GetApplication, SaveApplication
from tests.authorities import ADMIN
from workers.front50 import worker as front50


async def serve(stack: AsyncExitStack, settings: Settings, *, stuck_front50: bool) -> str:
    """The gateway on a MemoryBus; with ``stuck_front50``, Front50 knows application ``shop`` and
    answers queries but never commands (a stuck worker); without, no worker answers at all."""
    server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
    address = await server.start()
    stack.push_async_callback(server.close)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(address.uri)
    stack.push_async_callback(mongo.close)
    bus = MemoryBus()
    stack.push_async_callback(bus.close)
    if stuck_front50:
        service = front50.build_service(WorkerResources(settings=settings, db=mongo["gennaker"]))
        async with ServiceHost(bus, service):
            await bus.send(SaveApplication(authority=ADMIN, application={"name": "shop", "email": "shop@example.com"}))
            for _ in range(200):
                found = await bus.ask(GetApplication(name="shop"), timeout=2)
                if isinstance(found, ApplicationFound) and found.application:
                    break
                await asyncio.sleep(0.02)
        queries_only = [endpoint for endpoint in service.endpoints if endpoint.kind != "commands"]
        host = ServiceHost(bus, replace(service, endpoints=queries_only))
        await host.start()
        stack.push_async_callback(host.stop)
    return await serve_gateway(stack, bus, settings)


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as running:
        yield running


async def timed(method: str, url: str, **kwargs: Any) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as response:
        return response.status, await response.json(), time.monotonic() - started


async def test_reads_wait_query_timeout(stack: AsyncExitStack) -> None:
    gateway = await serve(stack, Settings(gateway_port=0, query_timeout=0.3), stuck_front50=False)
    status, body, took = await timed("GET", f"{gateway}/applications")
    assert status == 504, body
    assert "within 0.3s" in body["message"], body
    assert took < 3, f"the read waited {took:.1f}s, not query_timeout"


async def test_writes_wait_command_timeout(stack: AsyncExitStack) -> None:
    gateway = await serve(stack, Settings(gateway_port=0, command_timeout=0.4), stuck_front50=True)
    pipeline = {"application": "shop", "name": "deploy", "stages": []}
    status, body, took = await timed("POST", f"{gateway}/pipelines", json=pipeline)
    assert status == 504, body
    assert took < 3, f"the write waited {took:.1f}s, not command_timeout"
    assert "did not answer front50.SavePipeline within 0.4s" in body["message"], body
    assert "retry with the same Idempotency-Key" in body["message"], "a write that timed out may have been done"
