"""Long work in other services: heartbeats keep an attempt alive, silence or a retryable failure
ends it, and the stage's ``taskRetries`` bound how many attempts are sent."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import Endpoint, MemoryBus, MessageContext
from schemas import message
from schemas.orca_engine import ExternalTaskCompleted, ExternalTaskHeartbeat, RunExternalTask
from tests.integration.orca.conftest import FAST, Orca, by_ref, pipeline, stage, tap_events


@message
class SlowTaskCompleted(ExternalTaskCompleted):
    """What the test's "slow" service answers."""

    message_type: ClassVar[str] = "slow.task.completed"


@message
class SlowTaskHeartbeat(ExternalTaskHeartbeat):
    """The test's "slow" service still works."""

    message_type: ClassVar[str] = "slow.task.heartbeat"


@dataclasses.dataclass
class SlowService:
    """Provides stage type ``slow``; each stage's ``behaviour`` says what each attempt does."""

    received: list[RunExternalTask] = dataclasses.field(default_factory=list)
    work: list[asyncio.Task[None]] = dataclasses.field(default_factory=list)

    async def run(self, command: RunExternalTask, context: MessageContext) -> None:
        self.received.append(command)
        behaviour = command.context["behaviour"][min(command.attempt, len(command.context["behaviour"])) - 1]
        self.work.append(asyncio.create_task(self._attempt(command, behaviour, context)))

    async def _attempt(self, command: RunExternalTask, behaviour: str, context: MessageContext) -> None:
        ids = {
            "execution_id": command.execution_id,
            "stage_id": command.stage_id,
            "task_id": command.task_id,
            "attempt": command.attempt,
        }
        if behaviour == "silent":
            return
        if behaviour == "beat-then-succeed":
            for n in range(8):
                await context.publish(SlowTaskHeartbeat(**ids, progress=f"step {n + 1} of 8"))
                await asyncio.sleep(0.1)
        if behaviour == "flaky":
            await context.publish(SlowTaskCompleted(**ids, status="TERMINAL", error="throttled", retryable=True))
            return
        await context.publish(SlowTaskCompleted(**ids, status="SUCCEEDED", outputs={"attempt": command.attempt}))


@pytest.fixture
async def system(db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[tuple[Orca, SlowService]]:
    bus = MemoryBus(source="/test")
    orca = Orca(bus, db, options=dataclasses.replace(FAST, external_stage_types={"slow": "slow"}))
    slow = SlowService()
    tap = await tap_events(bus, orca)
    worker = await bus.consume(
        Endpoint(service="slow", kind="commands", handlers={RunExternalTask.message_type: slow.run})
    )
    await orca.start_host()
    try:
        yield orca, slow
    finally:
        await orca.stop_host()
        await worker.stop()
        for work in slow.work:
            work.cancel()
        await tap.stop()
        await bus.close()


def slow(*behaviour: str, **context: Any) -> dict[str, Any]:
    return pipeline(stage("1", "slow", behaviour=list(behaviour), taskRetryBackoffMs=20, **context))


async def test_heartbeats_keep_a_long_attempt_alive_and_show_progress(system: tuple[Orca, SlowService]) -> None:
    orca, service = system
    execution_id = await orca.start(slow("beat-then-succeed", taskHeartbeatTimeoutMs=400))
    seen = await orca.until(execution_id, lambda e: "progress" in by_ref(e, "1")["context"])
    assert by_ref(seen, "1")["context"]["progress"].startswith("step ")
    execution = await orca.finished(execution_id)
    assert execution["status"] == "SUCCEEDED"  # 0.8 s of work with a 0.4 s heartbeat timeout
    assert [command.attempt for command in service.received] == [1]
    assert by_ref(execution, "1")["outputs"] == {"attempt": 1}


async def test_a_silent_attempt_is_sent_again_while_retries_allow(system: tuple[Orca, SlowService]) -> None:
    orca, service = system
    execution = await orca.finished(await orca.start(slow("silent", "ok", taskHeartbeatTimeoutMs=200, taskRetries=1)))
    assert execution["status"] == "SUCCEEDED"
    assert [command.attempt for command in service.received] == [1, 2]
    assert "no answer or heartbeat for attempt 1" in by_ref(execution, "1")["context"]["lastAttemptError"]


async def test_silence_with_no_retries_left_fails_the_stage_saying_why(system: tuple[Orca, SlowService]) -> None:
    orca, service = system
    execution = await orca.finished(await orca.start(slow("silent", taskHeartbeatTimeoutMs=150, taskRetries=1)))
    assert execution["status"] == "TERMINAL"
    assert [command.attempt for command in service.received] == [1, 2]
    error = by_ref(execution, "1")["context"]["exception"]["details"]["error"]
    assert "slow sent no answer or heartbeat for attempt 2" in error and "taskRetries=1" in error


async def test_a_retryable_failure_is_tried_again_after_a_backoff(system: tuple[Orca, SlowService]) -> None:
    orca, service = system
    execution = await orca.finished(await orca.start(slow("flaky", "flaky", "ok", taskRetries=2)))
    assert execution["status"] == "SUCCEEDED"
    assert [command.attempt for command in service.received] == [1, 2, 3]
    assert by_ref(execution, "1")["outputs"] == {"attempt": 3}


async def test_a_retryable_failure_without_retries_fails_at_once(system: tuple[Orca, SlowService]) -> None:
    orca, service = system
    execution = await orca.finished(await orca.start(slow("flaky", "ok")))
    assert execution["status"] == "TERMINAL"
    assert len(service.received) == 1
    assert by_ref(execution, "1")["context"]["exception"]["details"]["error"] == "throttled"
