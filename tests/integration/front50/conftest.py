"""Runs the Front50 worker on a MemoryBus over a real mongoeco wire server, and talks to it as the gateway would.

Each test gets its own in-memory store behind mongoeco's wire protocol (reached with PyMongo's async
client, as in production), a ``ServiceHost`` running the worker, and a tap on ``front50.#`` events so
a test can send a command and await the one event it caused.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import Bus, MemoryBus
from bus.context import MessageContext
from bus.endpoint import Endpoint
from bus.envelope import Envelope
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas import Command, Event, Query, Reply, parse_cloudevent_type, registry
from tests.mongo import start_store
from workers.front50.worker import build_service


class Front50Client:
    """Sends commands and waits for the events they cause; asks queries."""

    def __init__(self, bus: Bus, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.bus = bus
        self.db = db
        self.events: dict[str, list[Event]] = defaultdict(list)
        self._arrived = asyncio.Condition()

    async def tap(self, envelope: Envelope, context: MessageContext) -> None:
        if envelope.causationid is None:
            return
        name, version = parse_cloudevent_type(envelope.type)
        event = registry.load(name, version, envelope.data)
        assert isinstance(event, Event)
        async with self._arrived:
            self.events[envelope.causationid].append(event)
            self._arrived.notify_all()

    async def caused_by(self, command_id: str, count: int = 1, timeout: float = 5.0) -> list[Event]:
        """The events caused by ``command_id``, once ``count`` have arrived."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.events[command_id]) >= count)
        return list(self.events[command_id])

    async def send(self, command: Command) -> Event:
        """Send ``command`` and return its one result event."""
        envelope = await self.bus.send(command)
        return (await self.caused_by(envelope.id))[0]

    async def ask(self, query: Query) -> Reply:
        return await self.bus.ask(query, timeout=5)


async def run_front50(bus: Bus, db: AsyncDatabase[dict[str, Any]]) -> tuple[ServiceHost, Front50Client, Any]:
    """Host the worker on ``bus`` and tap its events; returns the host, a client and the tap."""
    client = Front50Client(bus, db)
    tap = await bus.consume(
        Endpoint(service="front50-test", kind="events", patterns=("front50.#",), raw_handler=client.tap, durable=False)
    )
    host = ServiceHost(bus, build_service(WorkerResources(settings=Settings(), db=db)))
    await host.start()
    return host, client, tap


@pytest.fixture
async def front50() -> AsyncIterator[Front50Client]:
    server, mongo = await start_store(tz_aware=True)
    bus = MemoryBus(source="/test")
    host, client, tap = await run_front50(bus, mongo["gennaker"])
    try:
        yield client
    finally:
        await host.stop()
        await tap.stop()
        await bus.close()
        await mongo.close()
        await server.close()


def pipeline(application: str = "billing", name: str = "deploy", **fields: Any) -> dict[str, Any]:
    """A small valid Spinnaker pipeline: a bake, then a deploy, triggered by Jenkins."""
    return {
        "application": application,
        "name": name,
        "keepWaitingPipelines": False,
        "limitConcurrent": True,
        "stages": [
            {"refId": "1", "type": "bake", "name": "Bake", "requisiteStageRefIds": []},
            {"refId": "2", "type": "deploy", "name": "Deploy", "requisiteStageRefIds": ["1"]},
        ],
        "triggers": [{"type": "jenkins", "master": "ci", "job": "billing-build", "enabled": True}],
        "parameterConfig": [{"name": "region", "default": "us-east-1", "required": True}],
        **fields,
    }
