"""Rosco's bakery (and Front50, for applications' permissions) on a MemoryBus over a mongoeco wire
server, baking with the real Packer.

``bakery`` is shared by the module's tests (one store, one Rosco, one package repository holding
``hello_1.0-1_all``, the example app); each test bakes what it needs under its own names, so
caching between tests cannot make one pass for another.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bus import MemoryBus
from bus.context import MessageContext
from bus.endpoint import Endpoint
from bus.envelope import Envelope
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas import Event, parse_cloudevent_type, registry
from schemas.authority import Authority
from schemas.orca_engine import RunExternalTask
from schemas.rosco import RoscoSettings
from tests.mongo import fresh_database
from workers.front50.worker import build_service as front50_service
from workers.rosco.worker import TEMPLATES, build_service

HELLO = Path(__file__).parents[3] / "examples" / "hello" / "app.py"
MAX_CONCURRENT = 2
SLOW = {
    "builders": [{"type": "null", "communicator": "none"}],
    "provisioners": [{"type": "shell-local", "inline": ["echo baking slowly", "sleep 30"]}],
}
"""A template whose build runs until it is stopped (for cancels)."""


@dataclass
class Bakery:
    """The running Rosco, the events it published by subject, and its directories."""

    bus: MemoryBus
    db: Any
    images: Path
    repository: Path
    events: dict[str, list[Event]]
    arrived: asyncio.Condition

    async def run_task(
        self,
        execution_id: str,
        context: dict[str, Any],
        *,
        trigger: dict[str, Any] | None = None,
        stage_id: str = "s1",
        attempt: int = 1,
        application: str = "hello",
        authority: Authority | None = None,
    ) -> RunExternalTask:
        task = RunExternalTask(
            execution_id=execution_id,
            stage_id=stage_id,
            task_id="1",
            attempt=attempt,
            application=application,
            stage_type="bake",
            context={"region": "local", "baseOs": "python", "cloudProviderType": "local", **context},
            trigger=trigger or {},
            authority=authority or Authority.anonymous_admin(),
        )
        await self.bus.send(task, to="rosco")
        return task

    async def completed(self, execution_id: str, *, count: int = 1, timeout: float = 30.0) -> list[Event]:
        """The ``rosco.task.completed`` answers of an execution once there are ``count``."""

        def answers() -> list[Event]:
            return [e for e in self.events[execution_id] if e.message_type == "rosco.task.completed"]

        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(lambda: len(answers()) >= count)
        return answers()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bakery(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bakery]:
    root = tmp_path_factory.mktemp("bakery")
    repository = root / "packages"
    (repository / "hello_1.0-1_all").mkdir(parents=True)
    shutil.copy(HELLO, repository / "hello_1.0-1_all" / "app.py")
    templates = root / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "slow.json").write_text(json.dumps(SLOW))
    events: dict[str, list[Event]] = defaultdict(list)
    arrived = asyncio.Condition()

    async def tap(envelope: Envelope, context: MessageContext) -> None:
        name, version = parse_cloudevent_type(envelope.type)
        event = registry.load(name, version, envelope.data)
        assert isinstance(event, Event)
        async with arrived:
            events[envelope.subject or ""].append(event)
            arrived.notify_all()

    async with fresh_database() as db:
        bus = MemoryBus(source="/test")
        watch = await bus.consume(
            Endpoint(service="rosco-test", kind="events", patterns=("rosco.#",), raw_handler=tap, durable=False)
        )
        settings = Settings(
            data_dir=root,
            rosco=RoscoSettings(
                images_dir=root / "images",
                local_repository=repository,
                max_concurrent_bakes=MAX_CONCURRENT,
                config_dir=templates,
            ),
        )
        resources = WorkerResources(settings=settings, db=db)
        hosts = [ServiceHost(bus, build_service(resources)), ServiceHost(bus, front50_service(resources))]
        for host in hosts:
            await host.start()
        try:
            yield Bakery(bus, db, root / "images", repository, events, arrived)
        finally:
            for host in hosts:
                await host.stop()
            await watch.stop()
            await bus.close()
