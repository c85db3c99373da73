"""A stage type another service provides runs by message contract: ``orca.RunExternalTask`` out,
``<service>.task.completed`` back, correlated by task id and attempt."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import Endpoint, MemoryBus, MessageContext
from schemas import message
from schemas.orca_engine import ExternalTaskCompleted, RunExternalTask
from tests.integration.orca.conftest import FAST, Orca, by_ref, pipeline, stage, summary, tap_events


@message
class ProbeTaskCompleted(ExternalTaskCompleted):
    """What the test's "probe" service answers."""

    message_type: ClassVar[str] = "probe.task.completed"


@dataclasses.dataclass
class ProbeService:
    """Provides stage type ``probe``: answers each command twice (at-least-once), as told by the stage."""

    received: list[RunExternalTask] = dataclasses.field(default_factory=list)

    async def run(self, command: RunExternalTask, context: MessageContext) -> None:
        self.received.append(command)
        failing = command.context.get("fail") is True
        answer = ProbeTaskCompleted(
            execution_id=command.execution_id,
            stage_id=command.stage_id,
            task_id=command.task_id,
            attempt=command.attempt,
            status="TERMINAL" if failing else "SUCCEEDED",
            outputs={} if failing else {"image": f"ami-{command.context['version']}"},
            error="the bakery is closed" if failing else None,
        )
        await context.publish(answer)
        await context.publish(answer)


@pytest.fixture
async def system(db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[tuple[Orca, ProbeService]]:
    bus = MemoryBus(source="/test")
    orca = Orca(bus, db, options=dataclasses.replace(FAST, external_stage_types={"probe": "probe"}))
    probe = ProbeService()
    tap = await tap_events(bus, orca)
    worker = await bus.consume(
        Endpoint(service="probe", kind="commands", handlers={RunExternalTask.message_type: probe.run})
    )
    await orca.start_host()
    try:
        yield orca, probe
    finally:
        await orca.stop_host()
        await worker.stop()
        await tap.stop()
        await bus.close()


async def test_an_external_stage_runs_in_its_service(system: tuple[Orca, ProbeService]) -> None:
    orca, probe = system
    execution_id = await orca.start(pipeline(stage("1", "probe", version="1.2"), stage("2", after=("1",))))
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
    assert by_ref(execution, "1")["outputs"] == {"image": "ami-1.2"}
    assert len(probe.received) == 1
    command = probe.received[0]
    assert (command.stage_type, command.attempt, command.application) == ("probe", 1, "billing")
    assert command.trigger["type"] == "manual"


async def test_an_external_failure_fails_the_stage_with_its_reason(system: tuple[Orca, ProbeService]) -> None:
    orca, _ = system
    execution = await orca.finished(await orca.start(pipeline(stage("1", "probe", fail=True))))
    assert summary(execution) == {"status": "TERMINAL", "1": "TERMINAL"}
    assert by_ref(execution, "1")["context"]["exception"]["details"]["error"] == "the bakery is closed"
