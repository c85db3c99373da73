"""Runs Kayenta (with an in-process metrics account) and Front50 on a MemoryBus over a mongoeco wire server."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bus import MemoryBus
from bus.context import MessageContext
from bus.endpoint import Endpoint
from bus.envelope import Envelope
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas import Command, Event, Query, Reply, parse_cloudevent_type, registry
from tests.mongo import fresh_database
from workers.front50.worker import build_service as front50_service
from workers.kayenta.sources.memory import MemorySource
from workers.kayenta.worker import build_service as kayenta_service


class KayentaClient:
    """Sends commands, collects the events they cause, asks queries; ``source`` is the metrics account."""

    def __init__(self, bus: MemoryBus, source: MemorySource) -> None:
        self.bus = bus
        self.source = source
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

    async def send(self, command: Command, count: int = 1, timeout: float = 10.0, to: str | None = None) -> list[Event]:
        """Send ``command`` (to ``to``, else its owner); the first ``count`` events it caused."""
        envelope = await self.bus.send(command, to=to)
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.events[envelope.id]) >= count)
        return list(self.events[envelope.id])

    async def ask(self, query: Query) -> Reply:
        return await self.bus.ask(query, timeout=5)


@pytest.fixture
async def kayenta() -> AsyncIterator[KayentaClient]:
    async with fresh_database() as db:
        bus = MemoryBus(source="/test")
        source = MemorySource("metrics")
        client = KayentaClient(bus, source)
        tap = await bus.consume(
            Endpoint(
                service="kayenta-test", kind="events", patterns=("kayenta.#",), raw_handler=client.tap, durable=False
            )
        )
        resources = WorkerResources(settings=Settings(), db=db)
        hosts = [ServiceHost(bus, kayenta_service(resources, sources={"metrics": source}))]
        hosts.append(ServiceHost(bus, front50_service(resources)))
        for host in hosts:
            await host.start()
        try:
            yield client
        finally:
            for host in hosts:
                await host.stop()
            await tap.stop()
            await bus.close()


def canary_config(**canary: Any) -> dict[str, Any]:
    """Two latency metrics and an error rate, Kayenta's JSON."""
    return {
        "name": "latency",
        "applications": ["shop"],
        "judge": {"name": "NetflixACAJudge-v1.0"},
        "metrics": [
            {
                "name": name,
                "query": {"type": "prometheus", "metricName": name, "customInlineTemplate": 'group="${scope}"'},
                "groups": [group],
                "analysisConfigurations": {"canary": {"direction": "increase", **canary}},
            }
            for name, group in (("latency_p50", "latency"), ("latency_p99", "latency"), ("errors", "errors"))
        ],
        "classifier": {"groupWeights": {"latency": 60, "errors": 40}},
        "templates": {},
    }


def execution_request(start: str = "2026-12-02T07:00:00Z", end: str = "2026-12-02T07:05:00Z") -> dict[str, Any]:
    """Kayenta's CanaryExecutionRequest: baseline against canary over five minutes at 10 s."""

    def scope(name: str) -> dict[str, Any]:
        return {"scope": name, "location": "local", "start": start, "end": end, "step": 10, "extendedScopeParams": {}}

    return {
        "scopes": {"default": {"controlScope": scope("baseline"), "experimentScope": scope("canary")}},
        "thresholds": {"pass": 80, "marginal": 60},
    }
