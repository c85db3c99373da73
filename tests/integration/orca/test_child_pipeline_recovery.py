"""Child pipelines through a dying worker (found by the chaos test): a start claimed by a worker that
died before answering is started again by its redelivery, and a parent whose child finished without
the completion event reaching it is told by the periodic check."""

from __future__ import annotations

import asyncio

import pytest

from bus import MessageContext
from schemas.json_types import Json
from schemas.orca_stages import StartChildPipeline
from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, summary
from tests.integration.orca.test_child_pipeline import Front50, child_stage, children
from tests.integration.orca.test_child_pipeline import front50 as front50  # the fixture
from workers.orca.engine.commit import Commit
from workers.orca.engine.effects import pipeline_io
from workers.orca.engine.effects.pipeline_io import ChildPipelines
from workers.orca.engine.outbox import OutboxRelay
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.timers import TimerStore


async def test_a_start_claimed_by_a_worker_that_died_is_started_by_its_redelivery(
    orca: Orca, front50: Front50, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first handler claims the attempt, then dies (here: raises) before answering; without
    starting again the parent would wait for the attempt's one-minute deadline."""
    original = ChildPipelines._start
    died: list[int] = []

    async def die_once(self: ChildPipelines, command: StartChildPipeline, context: MessageContext) -> Json:
        if not died:
            died.append(command.attempt)
            raise RuntimeError("the worker died after claiming the start")
        return await original(self, command, context)

    monkeypatch.setattr(ChildPipelines, "_start", die_once)
    front50.add("child", stage("1"))
    execution = await orca.finished(await orca.start(pipeline(child_stage("child"))), timeout=8)

    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert died == [1]
    assert by_ref(execution, "1")["context"]["childPipelineCall"]["attempt"] == 1
    assert len(await children(orca, "child")) == 1


async def test_a_parent_whose_child_finished_unheard_is_told_by_the_check(
    orca: Orca, front50: Front50, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child's ``orca.execution.completed`` is lost (as an in-process bus loses it when its
    process dies): here the child's end is written without the event."""
    front50.add("child", stage("1", "manualJudgment"))
    execution_id = await orca.start(pipeline(child_stage("child")))
    running = await orca.until(execution_id, lambda e: "executionId" in by_ref(e, "1")["context"])
    child_id = by_ref(running, "1")["context"]["executionId"]
    await orca.until(child_id, lambda e: by_ref(e, "1")["status"] == "RUNNING")
    await orca.db["orca_executions"].update_one({"_id": child_id}, {"$set": {"status": "SUCCEEDED"}})

    store = ExecutionStore(orca.db)
    check = ChildPipelines(store, Commit(store, OutboxRelay(store, TimerStore(orca.db)), stall_ms=500))
    monkeypatch.setattr(pipeline_io, "CHECK_AFTER_MS", 60_000)
    assert await check.sweep(orca.bus) == 0  # the parent stage has not waited long enough to be looked at
    await asyncio.sleep(0.1)
    assert (await orca.get(execution_id))["status"] == "RUNNING"

    monkeypatch.setattr(pipeline_io, "CHECK_AFTER_MS", 0)
    assert await check.sweep(orca.bus) == 1
    execution = await orca.finished(execution_id)
    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert by_ref(execution, "1")["context"]["childExecutionStatus"] == {"executionId": child_id, "status": "SUCCEEDED"}
    assert await check.sweep(orca.bus) == 0
