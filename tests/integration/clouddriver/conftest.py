"""Runs Clouddriver with the ``local`` provider on a MemoryBus over a real mongoeco wire server.

Each test gets its own store, a ``ServiceHost`` running the whole Clouddriver worker with one open
``local`` account and one restricted ``secret`` account, and a tap on ``clouddriver.task.*``
events. :meth:`Clouddriver.run` sends ``orca.RunExternalTask`` as Orca does and waits for its
``clouddriver.task.completed``. On teardown every process the test's store started is stopped,
and the test fails if any had been left running outside Clouddriver's records.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo.asynchronous.database import AsyncDatabase
from ulid import ULID

from bus import Bus, Endpoint, Envelope, MemoryBus, MessageContext
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.clouddriver_cache import RefreshCache
from schemas.clouddriver_operations import TaskCompleted, TaskHeartbeat
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask
from tests.authorities import ADMIN
from tests.mongo import fresh_database
from workers.clouddriver.local import processes
from workers.clouddriver.worker import build_service

ROOT = Path(__file__).resolve().parents[3]
HELLO = [sys.executable, str(ROOT / "examples" / "hello" / "app.py"), "--port", "{port}"]
ACCOUNTS = [
    # unrestricted: these tests also run the example app under `python -c` wrappers
    {"name": "local", "cloudProvider": "local", "local": {"unrestricted": True}},
    {
        "name": "secret",
        "cloudProvider": "local",
        "permissions": {"READ": ["ops"], "WRITE": ["ops"]},
        "local": {"artifactDirs": [str(ROOT / "examples")]},
    },
]


def hello(version: str, *, fail_health: bool = False, **env: str) -> Json:
    """The example app's artifact keys for a cluster config."""
    variables = {"HELLO_VERSION": version, **env}
    if fail_health:
        variables["HELLO_FAIL_HEALTH"] = "1"
    return {"command": HELLO, "env": variables, "healthCheckPath": "/health", "stopTimeoutSeconds": 5}


def cluster(version: str = "v1", *, stack: str = "prod", desired: int = 2, **extra: Any) -> Json:
    """A createServerGroup context for the ``hello`` app in the ``local`` account."""
    return {
        "application": "hello",
        "stack": stack,
        "credentials": "local",
        "cloudProvider": "local",
        "capacity": {"min": desired, "max": desired, "desired": desired},
        "waitForUpTimeoutSeconds": 20,
        **hello(version),
        **extra,
    }


@dataclass
class Clouddriver:
    """Sends operations as Orca does and records every ``clouddriver.task.*`` event."""

    bus: Bus
    db: AsyncDatabase[Json]
    work_dir: Path
    host: ServiceHost | None = None
    events: list[Envelope] = field(default_factory=list)

    async def tap(self, envelope: Envelope, context: MessageContext) -> None:
        self.events.append(envelope)

    async def start_host(self, **options: Any) -> ServiceHost:
        resources = WorkerResources(Settings(data_dir=self.work_dir), self.db)
        service = build_service(resources, accounts=ACCOUNTS, refresh_seconds=3600, heartbeat_seconds=0.5, **options)
        self.host = ServiceHost(self.bus, service)
        await self.host.start()
        return self.host

    async def stop_host(self) -> None:
        if self.host is not None:
            await self.host.stop()
            self.host = None

    def command(
        self, stage_type: str, context: Json, *, task_id: str | None = None, attempt: int = 1
    ) -> RunExternalTask:
        return RunExternalTask(
            authority=ADMIN,
            execution_id="exec-1",
            stage_id=f"stage-{ULID()}",
            task_id=task_id or str(ULID()),
            attempt=attempt,
            application=str(context.get("application", "hello")),
            stage_type=stage_type,
            context=context,
        )

    async def send(self, command: RunExternalTask) -> None:
        await self.bus.send(command, to="clouddriver")

    def answers(self, command: RunExternalTask) -> list[TaskCompleted]:
        found = []
        for envelope in self.events:
            if envelope.type == TaskCompleted.cloudevent_type() and envelope.data["task_id"] == command.task_id:
                found.append(TaskCompleted.model_validate(envelope.data))
        return [answer for answer in found if answer.attempt == command.attempt]

    def heartbeats(self, command: RunExternalTask) -> list[TaskHeartbeat]:
        return [
            TaskHeartbeat.model_validate(envelope.data)
            for envelope in self.events
            if envelope.type == TaskHeartbeat.cloudevent_type() and envelope.data["task_id"] == command.task_id
        ]

    async def answer(self, command: RunExternalTask, *, timeout: float = 40.0) -> TaskCompleted:
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.answers(command):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no answer to {command.stage_type} after {timeout}s")
            await asyncio.sleep(0.02)
        return self.answers(command)[0]

    async def run(self, stage_type: str, context: Json, *, timeout: float = 40.0) -> TaskCompleted:
        command = self.command(stage_type, context)
        await self.send(command)
        return await self.answer(command, timeout=timeout)

    async def ok(self, stage_type: str, context: Json, *, timeout: float = 40.0) -> TaskCompleted:
        answer = await self.run(stage_type, context, timeout=timeout)
        assert answer.status == "SUCCEEDED", answer.error
        return answer

    async def refresh(self) -> None:
        await self.bus.ask(RefreshCache(), timeout=20)

    async def owner(self) -> str:
        document = await self.db["clouddriver_local_meta"].find_one({"_id": "owner"})
        assert document is not None
        return str(document["token"])


async def stop_everything(db: AsyncDatabase[Json]) -> list[str]:
    """Stop every process the store's owner started; returns the ids nothing recorded (orphans)."""
    document = await db["clouddriver_local_meta"].find_one({"_id": "owner"})
    if document is None:
        return []
    owner = str(document["token"])
    recorded = {i["_id"] async for i in db["clouddriver_local_instances"].find({})}
    recorded |= {b["balancer_id"] async for b in db["clouddriver_local_load_balancers"].find({})}
    orphans: list[str] = []
    for process_id, pids in processes.owned_processes(owner).items():
        if process_id not in recorded:
            orphans.append(process_id)
        for pid in pids:
            await processes.stop(pid, timeout=3)
    assert processes.owned_processes(owner) == {}
    return orphans


async def get_json(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json(content_type=None)


@pytest.fixture
async def db() -> AsyncIterator[AsyncDatabase[Json]]:
    async with fresh_database() as database:
        yield database


@pytest.fixture
async def clouddriver(db: AsyncDatabase[Json], tmp_path: Path) -> AsyncIterator[Clouddriver]:
    bus = MemoryBus(source="/test")
    system = Clouddriver(bus, db, tmp_path)
    tap = await bus.consume(
        Endpoint(
            service="clouddriver-test",
            kind="events",
            patterns=("clouddriver.task.*",),
            raw_handler=system.tap,
            durable=False,
        )
    )
    await system.start_host()
    try:
        yield system
    finally:
        await system.stop_host()
        await tap.stop()
        await bus.close()
        orphans = await stop_everything(db)
        assert orphans == [], f"processes left outside Clouddriver's records: {orphans}"
