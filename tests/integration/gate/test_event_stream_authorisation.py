"""``GET /events/stream`` shows a caller only the events of applications they may READ."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientResponse

from schemas.system import WorkerStarted
from tests.integration.gate.conftest import System, as_user
from tests.integration.gate.flows import create_application, exported_pipeline

RESTRICTED = {"READ": ["ops"], "WRITE": ["ops"]}


async def read_events(response: ClientResponse, until: str, seconds: float = 10.0) -> list[dict[str, Any]]:
    """Events from an SSE response, up to and including Front50's answer to saving pipeline ``until``."""
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data: "):
                event = json.loads(line[len("data: ") :])
                events.append(event)
                if (event["data"].get("pipeline") or {}).get("name") == until:
                    return

    await asyncio.wait_for(collect(), seconds)
    return events


async def test_restricted_application_events_reach_only_its_readers(secured: System) -> None:
    admin = as_user("admin")
    await create_application(secured.client, "secret", headers=admin, permissions=RESTRICTED)
    await create_application(secured.client, "open", headers=admin)
    streams = {
        name: await secured.client.get("/events/stream", params={"pattern": "#"}, headers=as_user(name))
        for name in ("outsider", "ops")
    }
    for response in streams.values():
        assert response.status == 200
        await response.content.readline()  # the ": following #" comment: the tap is bound now

    for application in ("secret", "open"):
        saved = await secured.client.post("/pipelines", json=exported_pipeline(application), headers=admin)
        assert saved.status == 200, await saved.text()
    await secured.bus.publish(WorkerStarted(service="marker", version="1", instance="test"))
    last = await secured.client.post("/pipelines", json=exported_pipeline("open", "last"), headers=admin)
    assert last.status == 200, await last.text()

    seen = {name: await read_events(response, "last") for name, response in streams.items()}
    for response in streams.values():
        response.close()

    def saved_pipelines(events: list[dict[str, Any]]) -> list[str]:
        return [
            event["data"]["pipeline"]["application"]
            for event in events
            if event["type"] == "io.gennaker.front50.pipeline.saved.v1"
        ]

    assert saved_pipelines(seen["ops"]) == ["secret", "open", "open"]
    assert saved_pipelines(seen["outsider"]) == ["open", "open"]
    assert "secret" not in json.dumps(seen["outsider"]).lower()
    for events in seen.values():
        assert "system.worker.started" not in json.dumps(events), "events of no application are for admins only"
