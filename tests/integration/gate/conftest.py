"""The real thing in one process: mongoeco's wire server, a MemoryBus, Front50, Orca, Clouddriver and the gateway.

Nothing is faked: the gateway talks to the workers only over the bus and the workers to the store
only through PyMongo, exactly as ``gennaker up`` wires them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from bus.service import Service, ServiceHost
from gateway import command_results
from gateway.app import create_app
from gateway.auth.tokens import hash_token
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.auth_settings import AuthConfig, StaticUser
from schemas.igor import IgorSettings
from schemas.json_types import Json
from workers.clouddriver import worker as clouddriver
from workers.front50 import worker as front50
from workers.igor import worker as igor_worker
from workers.orca import worker as orca

type Client = TestClient[web.Request, web.Application]

ACCOUNTS: list[Json] = [
    {"name": "prod", "type": "aws", "permissions": {"READ": ["ops"], "WRITE": ["ops"]}},
    {"name": "staging", "type": "kubernetes"},
]
TOKENS = {"admin": "token-admin", "dev": "token-dev", "ops": "token-ops", "outsider": "token-outsider"}
"""API tokens of the users of the ``static`` auth mode the authorisation tests run under."""
AUTH = AuthConfig(
    mode="static",
    users=(
        StaticUser(username="admin", token_sha256=hash_token(TOKENS["admin"]), admin=True),
        StaticUser(username="dev", token_sha256=hash_token(TOKENS["dev"]), roles=("dev",)),
        StaticUser(username="ops", token_sha256=hash_token(TOKENS["ops"]), roles=("ops",)),
        StaticUser(username="outsider", token_sha256=hash_token(TOKENS["outsider"]), roles=("guests",)),
    ),
)


def as_user(name: str) -> dict[str, str]:
    """Headers authenticating as the static user ``name``."""
    return {"Authorization": f"Bearer {TOKENS[name]}"}


@dataclass
class System:
    """Everything one test talks to."""

    client: Client
    bus: MemoryBus
    app: web.Application
    db: AsyncDatabase[dict[str, Any]]


async def start_system(
    stack: AsyncExitStack,
    *,
    auth: AuthConfig | None = None,
    install: bool = True,
    workers: tuple[str, ...] = ("front50", "orca", "clouddriver"),
    accounts: list[Json] | None = None,
    igor: IgorSettings | None = None,
) -> System:
    """Start the store, the bus, the ``workers`` and the gateway; ``stack`` stops them in reverse.

    Clouddriver answers for ``accounts`` (:data:`ACCOUNTS` unless given); with ``igor``, Igor runs
    too, on those settings.
    """
    server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
    address = await server.start()
    stack.push_async_callback(server.close)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(address.uri)
    stack.push_async_callback(mongo.close)
    resources = WorkerResources(settings=Settings(igor=igor or IgorSettings()), db=mongo["gennaker"])
    bus = MemoryBus()
    stack.push_async_callback(bus.close)
    services = {
        "front50": lambda: front50.build_service(resources),
        "orca": lambda: orca.build_service(resources),
        "clouddriver": lambda: clouddriver.build_service(
            resources, accounts=ACCOUNTS if accounts is None else accounts
        ),
        "front50-readonly": lambda: _without_commands(front50.build_service(resources)),
        "igor": lambda: igor_worker.build_service(resources),
    }
    if igor is not None:
        workers = (*workers, "igor")
    for name in workers:
        host = ServiceHost(bus, services[name]())
        await host.start()
        stack.push_async_callback(host.stop)
    names = ("front50", "orca", "clouddriver", *(("igor",) if igor is not None else ()))
    config = GatewayConfig(version="9.9.9", services=names, auth=auth or AuthConfig())
    app = create_app(bus, config)
    if install:
        command_results.install(app)
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    stack.push_async_callback(client.close)
    return System(client=client, bus=bus, app=app, db=resources.db)


def _without_commands(service: Service) -> Service:
    """A service that answers queries but leaves its commands unhandled (a stuck worker)."""
    return replace(service, endpoints=[endpoint for endpoint in service.endpoints if endpoint.kind != "commands"])


@pytest.fixture
async def system() -> AsyncIterator[System]:
    """The whole system with authentication off (every caller an anonymous admin)."""
    async with AsyncExitStack() as stack:
        yield await start_system(stack)


@pytest.fixture
async def client(system: System) -> Client:
    return system.client


@pytest.fixture
async def secured() -> AsyncIterator[System]:
    """The whole system with static-token authentication (see :data:`TOKENS`)."""
    async with AsyncExitStack() as stack:
        yield await start_system(stack, auth=AUTH)


async def eventually[T](probe: Callable[[], Any], until: Callable[[T], bool], *, timeout: float = 10.0) -> T:
    """Call ``probe`` until its result satisfies ``until``; fail with the last result after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result: T = await probe()
        if until(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {result!r} after {timeout}s")
        await asyncio.sleep(0.02)
