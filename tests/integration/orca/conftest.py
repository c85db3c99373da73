"""Runs Orca on a MemoryBus over a real mongoeco wire server and drives pipelines through it.

Each test gets its own in-memory store reached with PyMongo's async client (as in production), a
``ServiceHost`` running the whole Orca worker (task runner and pipeline engine, with its timer
poller and outbox relay) and a tap on ``orca.#`` events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from ulid import ULID

from bus import Bus, Consumption, Endpoint, Envelope, MemoryBus, MessageContext
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas import Command, parse_cloudevent_type
from schemas.json_types import Json
from schemas.orca_engine import ExecutionFound, GetExecution, StartExecution
from schemas.outbound import OutboundSettings
from tests.authorities import ADMIN
from tests.mongo import fresh_database
from workers.orca.engine import EngineOptions
from workers.orca.worker import build_service

FINISHED = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE", "SKIPPED"}
FAST = EngineOptions(
    pipeline_triggers=False,
    timer_interval=0.01,
    outbox_interval=0.05,
    outbox_grace_ms=100,
    reconcile_interval=0.05,
    stall_ms=500,
)


def stage(
    ref_id: str, type: str = "wait", *, after: tuple[str, ...] = (), name: str | None = None, **context: Any
) -> Json:
    """One stage of a Spinnaker pipeline (a zero-second wait unless told otherwise)."""
    if type == "wait":
        context.setdefault("waitTime", 0)
    return {
        "refId": ref_id,
        "type": type,
        "name": name or f"{type} {ref_id}",
        "requisiteStageRefIds": list(after),
        **context,
    }


def pipeline(*stages: Json, application: str = "billing", name: str = "deploy", **fields: Any) -> Json:
    """A pipeline config as Front50 stores it."""
    return {"id": "config-1", "application": application, "name": name, "stages": list(stages), **fields}


@dataclass
class Orca:
    """Starts pipelines, reads executions, and records every ``orca.#`` event."""

    bus: Bus
    db: AsyncDatabase[dict[str, Any]]
    options: EngineOptions = FAST
    settings: Settings = field(default_factory=Settings)
    host: ServiceHost | None = None
    events: list[Envelope] = field(default_factory=list)

    async def tap(self, envelope: Envelope, context: MessageContext) -> None:
        self.events.append(envelope)

    async def start_host(self) -> ServiceHost:
        self.host = ServiceHost(self.bus, build_service(WorkerResources(self.settings, self.db), engine=self.options))
        await self.host.start()
        return self.host

    async def stop_host(self) -> None:
        if self.host is not None:
            await self.host.stop()
            self.host = None

    async def start(self, config: Json, trigger: Json | None = None, *, execution_id: str | None = None) -> str:
        execution_id = execution_id or str(ULID())
        await self.send(
            StartExecution(
                authority=ADMIN, execution_id=execution_id, pipeline=config, trigger=trigger or {"type": "manual"}
            )
        )
        return execution_id

    async def send(self, command: Command) -> Envelope:
        return await self.bus.send(command)

    async def find(self, execution_id: str) -> Json | None:
        reply = await self.bus.ask(GetExecution(id=execution_id), timeout=5)
        assert isinstance(reply, ExecutionFound)
        return reply.execution

    async def get(self, execution_id: str) -> Json:
        execution = await self.find(execution_id)
        assert execution is not None, f"no execution {execution_id}"
        return execution

    async def until(self, execution_id: str, check: Callable[[Json], bool], *, timeout: float = 10.0) -> Json:
        """The execution once ``check`` holds; fails with its last state after ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            execution = await self.find(execution_id)
            if execution is not None and check(execution):
                return execution
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met after {timeout}s: {execution and summary(execution)}")
            await asyncio.sleep(0.02)

    async def finished(self, execution_id: str, *, timeout: float = 10.0) -> Json:
        return await self.until(execution_id, lambda execution: execution["status"] in FINISHED, timeout=timeout)

    async def until_event(self, matches: Callable[[Envelope], bool], *, timeout: float = 5.0) -> Envelope:
        """The first ``orca.#`` event ``matches`` accepts; fails after ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := next((event for event in self.events if matches(event)), None)):
            assert asyncio.get_running_loop().time() < deadline, "no such event"
            await asyncio.sleep(0.01)
        return found

    def event_types(self, execution_id: str) -> list[str]:
        return [parse_cloudevent_type(e.type)[0] for e in self.events if e.subject == execution_id]


def summary(execution: Json) -> Json:
    """The execution's status and its stages' statuses by refId, for readable failures."""
    return {"status": execution["status"], **{s["refId"]: s["status"] for s in execution["stages"]}}


def by_ref(execution: Json, ref_id: str) -> Json:
    return next(stage for stage in execution["stages"] if stage["refId"] == ref_id)


async def tap_events(bus: Bus, orca: Orca) -> Consumption:
    return await bus.consume(
        Endpoint(service="orca-test", kind="events", patterns=("orca.#",), raw_handler=orca.tap, durable=False)
    )


@pytest.fixture
async def db() -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    async with fresh_database() as database:
        yield database


@pytest.fixture
def outbound() -> OutboundSettings:
    """Where the test's Orca may call out: nowhere internal, unless a module allows its own servers
    by overriding this fixture (``tests.outbound.LOOPBACK_TEST_SERVERS``)."""
    return OutboundSettings()


@pytest.fixture
async def orca(db: AsyncDatabase[dict[str, Any]], outbound: OutboundSettings) -> AsyncIterator[Orca]:
    bus = MemoryBus(source="/test")
    system = Orca(bus, db, settings=Settings(outbound=outbound))
    tap = await tap_events(bus, system)
    await system.start_host()
    try:
        yield system
    finally:
        await system.stop_host()
        await tap.stop()
        await bus.close()
