"""The set-up the Clouddriver benchmarks share (not a benchmark itself).

``benchmarks/clouddriver.py`` and ``benchmarks/kubernetes.py`` both run Clouddriver in process on
a ``MemoryBus`` over the embedded store (mongoeco's wire server over SQLite, reached with PyMongo's
async client, as ``gennaker up`` runs it) and send it stage tasks as Orca sends them
(``orca.RunExternalTask``, as an admin), timing each until its ``clouddriver.task.completed``.

Example::

    async with embedded_clouddriver(directory, accounts) as rig:
        arrived, answer = await rig.answers.run(rig.bus, "deployManifest", context)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from ulid import ULID

from bus import Endpoint, Envelope, MemoryBus, MessageContext
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from gennaker.store import EmbeddedStore, mongo_client
from schemas.authority import Authority
from schemas.clouddriver_operations import TaskCompleted
from schemas.orca_engine import RunExternalTask
from workers.clouddriver.worker import build_service

Json = dict[str, Any]


class TaskAnswers:
    """Collects ``clouddriver.task.completed`` by task id, and sends tasks that wait for theirs."""

    def __init__(self) -> None:
        self.arrived: dict[str, tuple[float, TaskCompleted]] = {}

    async def tap(self, envelope: Envelope, context: MessageContext) -> None:
        if envelope.type == TaskCompleted.cloudevent_type():
            answer = TaskCompleted.model_validate(envelope.data)
            self.arrived[answer.task_id] = (time.perf_counter(), answer)

    async def run(
        self, bus: MemoryBus, stage_type: str, context: Json, *, application: str = "hello"
    ) -> tuple[float, TaskCompleted]:
        """Send a ``stage_type`` task with ``context``; when its answer arrived (``perf_counter``) and
        the answer. A task unanswered in 60 s is a ``TimeoutError``, one that did not succeed a ``RuntimeError``."""
        command = RunExternalTask(
            authority=Authority.anonymous_admin(),
            execution_id="bench",
            stage_id=str(ULID()),
            task_id=str(ULID()),
            attempt=1,
            application=application,
            stage_type=stage_type,
            context=context,
        )
        await bus.send(command, to="clouddriver")
        deadline = time.monotonic() + 60
        while command.task_id not in self.arrived:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{stage_type} was not answered in 60 s")
            await asyncio.sleep(0.005)
        arrived, answer = self.arrived[command.task_id]
        if answer.status != "SUCCEEDED":
            raise RuntimeError(f"{stage_type} failed: {answer.error}")
        return arrived, answer


@dataclass
class Rig:
    """What :func:`embedded_clouddriver` runs: the bus, the store's database, the answers' tap."""

    bus: MemoryBus
    db: AsyncDatabase[Json]
    resources: WorkerResources
    answers: TaskAnswers


@contextlib.asynccontextmanager
async def embedded_clouddriver(
    data: Path,
    accounts: list[Json],
    *,
    before_store_closes: Callable[[AsyncDatabase[Json]], Awaitable[None]] | None = None,
) -> AsyncIterator[Rig]:
    """Clouddriver with ``accounts`` (no cache refresh for an hour) on a fresh store under ``data``;
    afterwards, once the bus is closed, ``before_store_closes(db)`` (to stop what the run started)."""
    async with EmbeddedStore(data / "store.sqlite") as store:
        mongo = mongo_client(await store.start())
        db = mongo["gennaker"]
        bus = MemoryBus(source="/bench")
        answers = TaskAnswers()
        tap = await bus.consume(
            Endpoint(
                service="bench", kind="events", patterns=("clouddriver.task.*",), raw_handler=answers.tap, durable=False
            )
        )
        resources = WorkerResources(Settings(data_dir=data), db)
        host = ServiceHost(bus, build_service(resources, accounts=accounts, refresh_seconds=3600))
        await host.start()
        try:
            yield Rig(bus, db, resources, answers)
        finally:
            await host.stop()
            await tap.stop()
            await bus.close()
            if before_store_closes is not None:
                await before_store_closes(db)
            await mongo.close()
