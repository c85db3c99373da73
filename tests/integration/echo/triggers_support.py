"""Shared by Echo's trigger tests: a store, a recorder standing in for Orca's command queue, configs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import Bus, Consumption, Endpoint, Envelope, MessageContext
from schemas.echo import TriggerFired, WebhookProcessed
from schemas.front50 import GetPipelineConfig, PipelineFound, SavePipeline
from schemas.json_types import Json
from schemas.orca_engine import TriggerPipeline
from tests.authorities import ADMIN
from tests.mongo import fresh_database


@pytest.fixture
async def db() -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A fresh in-memory store behind mongoeco's wire server, reached with PyMongo."""
    async with fresh_database() as database:
        yield database


@dataclass
class Recorder:
    """Takes Orca's command queue (the ``orca.TriggerPipeline`` Echo sends) and Echo's events."""

    commands: list[TriggerPipeline] = field(default_factory=list)
    fired: list[TriggerFired] = field(default_factory=list)
    processed: list[WebhookProcessed] = field(default_factory=list)
    consumptions: list[Consumption] = field(default_factory=list)

    async def take(self, command: TriggerPipeline, context: MessageContext) -> None:
        self.commands.append(command)

    async def tap(self, envelope: Envelope, context: MessageContext) -> None:
        if envelope.type == TriggerFired.cloudevent_type():
            self.fired.append(TriggerFired.model_validate(envelope.data))
        elif envelope.type == WebhookProcessed.cloudevent_type():
            self.processed.append(WebhookProcessed.model_validate(envelope.data))

    async def start(self, bus: Bus, *, orca: bool = True) -> Recorder:
        if orca:
            self.consumptions.append(
                await bus.consume(
                    Endpoint(service="orca", kind="commands", handlers={TriggerPipeline.message_type: self.take})
                )
            )
        self.consumptions.append(
            await bus.consume(
                Endpoint(service="echo-test", kind="events", patterns=("echo.#",), raw_handler=self.tap, durable=False)
            )
        )
        return self

    async def stop(self) -> None:
        for consumption in self.consumptions:
            await consumption.stop()

    def keys(self) -> list[str]:
        return [command.idempotency_key for command in self.commands]

    async def webhook(self, event_id: str, timeout: float = 10.0) -> WebhookProcessed:
        """The ``echo.webhook.processed`` of ``event_id`` once it arrives."""
        await until(lambda: any(p.event_id == event_id for p in self.processed), timeout=timeout)
        return next(p for p in self.processed if p.event_id == event_id)


async def until(check: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not met after {timeout}s")
        await asyncio.sleep(0.02)


def config(config_id: str, *triggers: Json, application: str = "shop", name: str | None = None, **extra: Any) -> Json:
    """A pipeline config as Front50 stores it, with ``triggers``."""
    return {
        "id": config_id,
        "application": application,
        "name": name or f"pipeline {config_id}",
        "stages": [{"refId": "1", "type": "wait", "name": "wait", "waitTime": 0, "requisiteStageRefIds": []}],
        "triggers": list(triggers),
        **extra,
    }


async def save_pipelines(bus: Bus, *configs: Json) -> None:
    """Save ``configs`` through Front50 and wait until it answers with each."""
    for pipeline in configs:
        await bus.send(SavePipeline(authority=ADMIN, pipeline=pipeline))
    for pipeline in configs:
        for _ in range(250):
            found = await bus.ask(GetPipelineConfig(id=pipeline["id"]), timeout=5)
            if isinstance(found, PipelineFound) and found.pipeline is not None:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"Front50 never saved {pipeline['id']}")
