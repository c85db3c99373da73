"""GET /health against a MemoryBus where some services answer Ping and others do not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

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
    """Each service answers only once every service has been asked: pinged one after another, the first
    would wait in vain and be DOWN; pinged together, all are UP."""
    services = ("igor", "kayenta", "rosco", "dinghy")
    asked: set[str] = set()
    everyone_asked = asyncio.Event()

    def answer_once_all_are_asked(service: str) -> Callable[[Ping, MessageContext], Awaitable[Pong]]:
        async def answer(query: Ping, context: MessageContext) -> Pong:
            asked.add(service)
            if len(asked) == len(services):
                everyone_asked.set()
            await everyone_asked.wait()
            return Pong(service=service, version=f"{service}-1.2.3", instance=f"{service}-host-1")

        return answer

    for service in services:
        handlers = {"system.Ping": answer_once_all_are_asked(service)}
        await bus.consume(Endpoint(service=service, kind="queries", handlers=handlers))
    patient = GatewayConfig(version="9.9.9", services=services, health_timeout=10.0)

    status, body = await get_health(bus, patient)

    assert status == 200, body
    assert {name: health["status"] for name, health in body["services"].items()} == dict.fromkeys(  # type: ignore[attr-defined]
        services, "UP"
    )
