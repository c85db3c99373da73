"""A whole Gennaker for attackers' tests of who may do what, on MemoryBus or on RabbitMQ.

One store (mongoeco's wire server), one bus (in memory, or RabbitMQ in a virtual host of its
own), Front50, Orca and Clouddriver (the ``local`` provider, fenced to ``examples/``) and the
gateway with static tokens, wired as ``gennaker up`` wires them. The personas:

=========  ==========================  ==================================================
persona    roles                       may
=========  ==========================  ==================================================
owner      shop-owners                 READ/WRITE/EXECUTE ``shop``; READ/WRITE ``sandbox``
viewer     shop-viewers                READ ``shop``; READ ``sandbox``
deployer   shop-owners, prod-deployers the owner's rights, plus WRITE on ``prod``
rival      rivals                      everything on ``rival``; READ/WRITE ``sandbox``
admin      (admin)                     anything
=========  ==========================  ==================================================

Tests put commands straight onto the bus (as an attacker with access to it could), tap the
events that answer them and read what the services stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pymongo.asynchronous.database import AsyncDatabase
from ulid import ULID

from bus import Bus, Endpoint, Envelope, MemoryBus, MessageContext
from bus.amqp import AmqpBus
from bus.service import ServiceHost
from gateway.app import create_app
from gateway.auth.tokens import hash_token
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas import Command, parse_cloudevent_type
from schemas.auth_settings import AuthConfig, StaticUser
from schemas.authority import Authority
from schemas.base import Message
from schemas.clouddriver_cache import CachedResources, ListServerGroups, RefreshCache
from schemas.clouddriver_operations import TaskCompleted
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask
from tests.broker import own_vhost
from tests.mongo import start_store
from workers.clouddriver import worker as clouddriver
from workers.clouddriver.local import processes
from workers.front50 import worker as front50
from workers.orca import worker as orca
from workers.orca.engine import EngineOptions

type Client = TestClient[web.Request, web.Application]
BusKind = Literal["memory", "amqp"]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

ROLES: dict[str, tuple[str, ...]] = {
    "owner": ("shop-owners",),
    "viewer": ("shop-viewers",),
    "deployer": ("shop-owners", "prod-deployers"),
    "rival": ("rivals",),
}
SHOP = {"READ": ["shop-owners", "shop-viewers"], "WRITE": ["shop-owners"], "EXECUTE": ["shop-owners"]}
RIVAL = {"READ": ["rivals"], "WRITE": ["rivals"], "EXECUTE": ["rivals"]}
ACCOUNTS: list[Json] = [
    {
        "name": "sandbox",
        "cloudProvider": "local",
        "permissions": {"READ": ["shop-owners", "shop-viewers", "rivals"], "WRITE": ["shop-owners", "rivals"]},
        "local": {"artifactDirs": [str(EXAMPLES)]},
    },
    {
        "name": "prod",
        "cloudProvider": "local",
        "permissions": {"READ": ["prod-deployers"], "WRITE": ["prod-deployers"]},
        "local": {"artifactDirs": [str(EXAMPLES)]},
        "maxCapacity": 3,
    },
]
AUTH = AuthConfig(
    mode="static",
    users=(
        StaticUser(username="admin", token_sha256=hash_token("token-admin"), admin=True),
        *(
            StaticUser(username=persona, token_sha256=hash_token(f"token-{persona}"), roles=roles)
            for persona, roles in ROLES.items()
        ),
    ),
)
FAST = EngineOptions(timer_interval=0.02, outbox_interval=0.1, outbox_grace_ms=200, reconcile_interval=0.2)


def authority(persona: str) -> Authority:
    """What a command sent for ``persona`` carries (what the gateway would put in it)."""
    if persona == "admin":
        return Authority(user="admin", admin=True)
    return Authority(user=persona, roles=ROLES[persona])


def headers(persona: str) -> dict[str, str]:
    """``persona``'s API token."""
    return {"Authorization": f"Bearer token-{persona}"}


@dataclass
class World:
    """Everything a test talks to, and every event the services published."""

    kind: BusKind
    bus: Bus
    db: AsyncDatabase[Json]
    client: Client
    work_dir: Path
    events: list[Envelope] = field(default_factory=list)

    async def tap(self, envelope: Envelope, context: MessageContext) -> None:
        self.events.append(envelope)

    async def send(self, command: Command, *, to: str | None = None) -> Envelope:
        """Put ``command`` onto the bus as any publisher could."""
        return await self.bus.send(command, to=to) if to else await self.bus.send(command)

    def of_type(self, model: type[Message]) -> list[Json]:
        """The data of every event of ``model``'s type seen so far."""
        name = model.message_type
        return [e.data for e in self.events if parse_cloudevent_type(e.type)[0] == name]

    async def until[T](self, probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 20) -> T:
        """``probe()`` once ``check`` holds; fails with the last value after ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await probe()
            if check(value):
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"still {value!r} after {timeout}s")
            await asyncio.sleep(0.05)

    async def event(self, model: type[Message], match: Callable[[Json], bool], timeout: float = 20) -> Json:
        """The first event of ``model`` for which ``match`` holds, waiting for it."""

        async def found() -> list[Json]:
            return [data for data in self.of_type(model) if match(data)]

        return (await self.until(found, bool, timeout))[0]

    async def answer(self, sent: Envelope, timeout: float = 20) -> tuple[str, Json]:
        """The type name and data of the first event ``sent`` caused (a command's answer)."""

        async def caused() -> list[Envelope]:
            return [e for e in self.events if e.causationid == sent.id]

        first = (await self.until(caused, bool, timeout))[0]
        return parse_cloudevent_type(first.type)[0], first.data

    async def get(self, path: str, persona: str = "admin") -> Any:
        response = await self.client.get(path, headers=headers(persona))
        assert response.status == 200, (path, response.status, await response.text())
        return await response.json()

    async def execution(self, execution_id: str) -> Json:
        """The execution as the admin reads it (``{"status": "MISSING"}`` until it exists)."""
        response = await self.client.get(f"/pipelines/{execution_id}", headers=headers("admin"))
        if response.status == 404:
            return {"status": "MISSING", "stages": []}
        assert response.status == 200, await response.text()
        found: Json = await response.json()
        return found

    async def finished(self, execution_id: str, timeout: float = 30) -> Json:
        """The execution once it has finished."""
        done = ("SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED")
        return await self.until(lambda: self.execution(execution_id), lambda e: e["status"] in done, timeout)

    async def create_application(self, name: str, permissions: Json | None) -> None:
        """Create application ``name`` as the admin, through the gateway, and wait until it exists."""
        attributes: Json = {"name": name, "email": f"{name}@example.com"}
        if permissions is not None:
            attributes["permissions"] = permissions
        job = {"type": "createApplication", "application": attributes}
        response = await self.client.post("/tasks", json={"application": name, "job": [job]}, headers=headers("admin"))
        assert response.status == 200, await response.text()
        ref = (await response.json())["ref"]
        task = await self.until(lambda: self.get(ref), lambda task: task["status"] in ("SUCCEEDED", "TERMINAL"))
        assert task["status"] == "SUCCEEDED", task

    async def save_pipeline(self, pipeline: Json, persona: str = "admin") -> str:
        """Save ``pipeline`` through the gateway as ``persona``; its id."""
        response = await self.client.post("/pipelines", json=pipeline, headers=headers(persona))
        assert response.status == 200, await response.text()
        return str((await response.json())["id"])

    async def operate(
        self, who: Authority, stage_type: str, context: Json, *, application: str = "shop", timeout: float = 60
    ) -> Json:
        """Put ``orca.RunExternalTask`` for ``stage_type`` onto the bus as Orca would, acting for
        ``who``; the data of Clouddriver's ``clouddriver.task.completed`` answer."""
        command = RunExternalTask(
            execution_id=f"attack-{ULID()}",
            stage_id=str(ULID()),
            task_id="1",
            attempt=1,
            application=application,
            stage_type=stage_type,
            context=context,
            authority=who,
        )
        await self.send(command, to="clouddriver")
        return await self.event(TaskCompleted, lambda data: data["execution_id"] == command.execution_id, timeout)

    async def server_groups(self, application: str, who: Authority | None = None) -> list[Json]:
        """What Clouddriver's cache answers ``who`` (an admin by default) for ``application``."""
        await self.bus.ask(RefreshCache(), timeout=20)
        query = ListServerGroups(application=application, authority=who or authority("admin"))
        reply = await self.bus.ask(query, timeout=10)
        assert isinstance(reply, CachedResources)
        return reply.resources


async def stop_local_processes(db: AsyncDatabase[Json]) -> None:
    """Stop every process the world's local provider started (its owner token is in the store)."""
    document = await db["clouddriver_local_meta"].find_one({"_id": "owner"})
    if document is None:
        return
    for pids in processes.owned_processes(str(document["token"])).values():
        for pid in pids:
            await processes.stop(pid, timeout=3)


@contextlib.asynccontextmanager
async def running_world(
    kind: BusKind,
    work_dir: Path,
    *,
    amqp_url: str,
    vhost: str,
    accounts: list[Json] | None = None,
    extra: Callable[[WorkerResources], list[Any]] | None = None,
    settings_fields: dict[str, Any] | None = None,
) -> AsyncIterator[World]:
    """Start a world on ``kind`` of bus; every part is stopped (and every process it started) on exit."""
    async with contextlib.AsyncExitStack() as stack:
        server, mongo = await start_store()
        stack.push_async_callback(server.close)
        stack.push_async_callback(mongo.close)
        db = mongo["gennaker"]
        bus: Bus
        if kind == "amqp":
            url = stack.enter_context(own_vhost(amqp_url, vhost))
            bus = await AmqpBus.connect(url, source="/security")
        else:
            bus = MemoryBus(source="/security")
        stack.push_async_callback(bus.close)
        settings = Settings(
            data_dir=work_dir,
            auth=AUTH,
            accounts=accounts if accounts is not None else ACCOUNTS,
            **(settings_fields or {}),
        )
        resources = WorkerResources(settings=settings, db=db)
        world_client: Client | None = None
        services = [
            front50.build_service(resources),
            orca.build_service(resources, engine=FAST),
            clouddriver.build_service(resources, refresh_seconds=3600, heartbeat_seconds=0.5),
            *(extra(resources) if extra else []),
        ]
        stack.push_async_callback(stop_local_processes, db)
        for service in services:
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        app = create_app(bus, GatewayConfig(version="9.9.9", services=("front50", "orca", "clouddriver"), auth=AUTH))
        world_client = TestClient(TestServer(app))
        await world_client.start_server()
        stack.push_async_callback(world_client.close)
        world = World(kind=kind, bus=bus, db=db, client=world_client, work_dir=work_dir)
        tap = await bus.consume(
            Endpoint(
                service=f"security-tap-{vhost}",
                kind="events",
                patterns=("#",),
                raw_handler=world.tap,
                durable=False,
            )
        )
        stack.push_async_callback(tap.stop)
        yield world
