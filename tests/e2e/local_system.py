"""One in-process Gennaker for the end-to-end tests that deploy with the ``local`` provider.

Each such test needs the same system: mongoeco's wire server on its memory engine reached with
PyMongo's ``AsyncMongoClient``, a ``MemoryBus``, Front50, Orca and Clouddriver (one ``local``
account fenced to ``examples/``, heartbeats every second) plus whatever workers the test adds,
and the gateway behind aiohttp's ``TestClient``. :func:`local_system` builds it and takes it down,
checking last that Clouddriver left no process of the example app running.

Example::

    async with local_system(tmp_path, extra=lambda resources: [kayenta.build_service(resources)]) as system:
        await save(system.client, pipeline)
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from bus.service import Service, ServiceHost
from gateway import command_results
from gateway.app import create_app
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.auth_settings import AuthConfig
from schemas.json_types import Json
from tests.integration.clouddriver.conftest import stop_everything
from tests.integration.gate.conftest import Client, eventually
from tests.integration.gate.test_executions import FINISHED, read
from workers.clouddriver import worker as clouddriver
from workers.front50 import worker as front50
from workers.orca import worker as orca

ROOT = Path(__file__).resolve().parents[2]
HELLO = [sys.executable, str(ROOT / "examples" / "hello" / "app.py"), "--port", "{port}"]
"""The example app's command line, as a server group's ``command`` (Clouddriver fills ``{port}``)."""
LOCAL_ACCOUNTS = [{"name": "local", "cloudProvider": "local", "local": {"artifactDirs": [str(ROOT / "examples")]}}]


@dataclass(frozen=True)
class LocalSystem:
    """The gateway's client, and the bus and database behind it."""

    client: Client
    bus: MemoryBus
    db: AsyncDatabase[dict[str, Any]]


@asynccontextmanager
async def local_system(
    data_dir: Path, *, extra: Callable[[WorkerResources], Sequence[Service]] = lambda resources: ()
) -> AsyncIterator[LocalSystem]:
    """Front50, Orca, Clouddriver (``local``) and the ``extra`` workers built on the same resources,
    behind the gateway; on exit, fails if an example app's process is left running."""
    async with AsyncExitStack() as stack:
        server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
        address = await server.start()
        stack.push_async_callback(server.close)
        mongo: AsyncMongoClient[Json] = AsyncMongoClient(address.uri)
        stack.push_async_callback(mongo.close)
        stack.push_async_callback(lambda: _no_orphans(mongo))
        resources = WorkerResources(settings=Settings(data_dir=data_dir), db=mongo["gennaker"])
        bus = MemoryBus()
        stack.push_async_callback(bus.close)
        services = [
            front50.build_service(resources),
            orca.build_service(resources),
            clouddriver.build_service(resources, accounts=LOCAL_ACCOUNTS, heartbeat_seconds=1),
            *extra(resources),
        ]
        for service in services:
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        names = tuple(dict.fromkeys(service.name for service in services))
        app = create_app(bus, GatewayConfig(version="9.9.9", services=names, auth=AuthConfig()))
        command_results.install(app)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        yield LocalSystem(client, bus, mongo["gennaker"])


async def _no_orphans(mongo: AsyncMongoClient[Json]) -> None:
    assert await stop_everything(mongo["gennaker"]) == [], "Clouddriver left processes of the example app running"


async def finished(client: Client, ref: str, *, timeout: float) -> Json:
    """The execution at ``ref`` once it has finished; fails after ``timeout`` seconds."""
    result: Json = await eventually(lambda: read(client, ref), lambda e: e["status"] in FINISHED, timeout=timeout)
    return result
