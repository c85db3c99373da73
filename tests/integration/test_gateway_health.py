"""GET /health against a MemoryBus where some services answer Ping and others do not."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bus import Endpoint, MemoryBus, MessageContext
from gateway.app import create_app
from gateway.config import GatewayConfig
from schemas.system import Ping, Pong

TIMEOUT = 0.3


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus()
    try:
        yield bus
    finally:
        await bus.close()


def config(*services: str) -> GatewayConfig:
    return GatewayConfig(version="9.9.9", services=services, health_timeout=TIMEOUT)


async def answer_ping_as(bus: MemoryBus, service: str) -> None:
    async def answer(query: Ping, context: MessageContext) -> Pong:
        return Pong(service=service, version=f"{service}-1.2.3", instance=f"{service}-host-1")

    await bus.consume(Endpoint(service=service, kind="queries", handlers={"system.Ping": answer}))


async def get_health(bus: MemoryBus, gateway_config: GatewayConfig) -> tuple[int, dict[str, object]]:
    async with TestClient(TestServer(create_app(bus, gateway_config))) as client:
        response = await client.get("/health")
        return response.status, await response.json()


async def test_all_services_answering_is_up_with_200(bus: MemoryBus) -> None:
    await answer_ping_as(bus, "orca")
    await answer_ping_as(bus, "echo")

    status, body = await get_health(bus, config("orca", "echo"))

    assert status == 200
    assert body["status"] == "UP"
    assert body["version"] == "9.9.9"
    services = body["services"]
    assert isinstance(services, dict)
    assert services["orca"]["status"] == "UP"
    assert services["orca"]["version"] == "orca-1.2.3"
    assert services["orca"]["instance"] == "orca-host-1"
    assert isinstance(services["orca"]["latencyMs"], float)
    assert services["echo"]["version"] == "echo-1.2.3"


async def test_a_silent_service_is_down_with_503_and_says_why(bus: MemoryBus) -> None:
    await answer_ping_as(bus, "orca")

    status, body = await get_health(bus, config("orca", "echo"))

    assert status == 503
    assert body["status"] == "DOWN"
    services = body["services"]
    assert isinstance(services, dict)
    assert services["orca"]["status"] == "UP"
    assert services["echo"] == {"status": "DOWN", "error": f"no reply within {TIMEOUT:g}s"}


async def test_a_service_answering_with_an_error_is_down_with_that_error(bus: MemoryBus) -> None:
    async def broken(query: Ping, context: MessageContext) -> Pong:
        raise RuntimeError("disk full")

    await bus.consume(Endpoint(service="rosco", kind="queries", handlers={"system.Ping": broken}))

    status, body = await get_health(bus, config("rosco"))

    assert status == 503
    services = body["services"]
    assert isinstance(services, dict)
    assert services["rosco"]["status"] == "DOWN"
    assert "disk full" in services["rosco"]["error"]


async def test_services_are_pinged_concurrently(bus: MemoryBus) -> None:
    started = time.perf_counter()

    status, body = await get_health(bus, config("igor", "kayenta", "rosco", "dinghy"))

    assert status == 503
    assert len(body["services"]) == 4  # type: ignore[arg-type]
    assert time.perf_counter() - started < TIMEOUT * 3
