"""``pipeline`` stages run a child pipeline fetched from Front50 (a fake answering on the bus) and
follow it: its success or failure is the stage's, cancelling the parent cancels it, and a repeated
start never makes a second child."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from bus import Endpoint, MessageContext
from schemas.front50 import GetPipelineConfig, PipelineFound
from schemas.json_types import Json
from schemas.orca_engine import (
    CancelExecution,
    ExecutionList,
    JudgeStage,
    ListExecutions,
    RestartStage,
    StartExecution,
)
from schemas.orca_stages import StartChildPipeline
from tests.authorities import ADMIN, admin
from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, summary


@dataclass
class Front50:
    """Answers ``front50.GetPipelineConfig`` by id from ``configs``."""

    configs: dict[str, Json] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def add(self, config_id: str, *stages: Json, name: str | None = None, **fields: Any) -> str:
        self.configs[config_id] = pipeline(*stages, name=name or config_id, id=config_id, **fields)
        return config_id

    async def get(self, query: GetPipelineConfig, context: MessageContext) -> PipelineFound:
        self.asked.append(str(query.id))
        return PipelineFound(pipeline=self.configs.get(str(query.id)))


@pytest.fixture
async def front50(orca: Orca) -> AsyncIterator[Front50]:
    fake = Front50()
    consumption = await orca.bus.consume(
        Endpoint(service="front50", kind="queries", handlers={GetPipelineConfig.message_type: fake.get})
    )
    try:
        yield fake
    finally:
        await consumption.stop()


def child_stage(config_id: str, ref_id: str = "1", **context: Any) -> Json:
    return stage(ref_id, "pipeline", application="billing", pipeline=config_id, **context)


async def child_of(orca: Orca, execution: Json, ref_id: str = "1") -> Json:
    return await orca.get(by_ref(execution, ref_id)["context"]["executionId"])


async def children(orca: Orca, config_id: str) -> list[Json]:
    reply = await orca.bus.ask(ListExecutions(pipeline_config_ids=[config_id], limit=10), timeout=5)
    assert isinstance(reply, ExecutionList)
    return reply.executions


async def test_nested_child_pipelines_run_to_completion(orca: Orca, front50: Front50) -> None:
    front50.add("grandchild", stage("1", "evaluateVariables", variables=[{"key": "depth", "value": 2}]))
    front50.add(
        "child",
        stage("1", "evaluateVariables", variables=[{"key": "region", "value": "${trigger.parameters.region}"}]),
        child_stage("grandchild", "2", after=("1",)),
    )
    config = pipeline(child_stage("child", pipelineParameters={"region": "eu-west-1"}))
    execution = await orca.finished(await orca.start(config, {"type": "manual", "user": "ada"}))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    parent_stage = by_ref(execution, "1")
    child = await child_of(orca, execution)
    assert parent_stage["outputs"]["executionId"] == child["id"]
    assert parent_stage["outputs"]["executionName"] == "child"
    assert child["status"] == "SUCCEEDED", summary(child)
    trigger = child["trigger"]
    assert trigger["type"] == "pipeline"
    assert trigger["parentExecution"]["id"] == execution["id"]
    assert trigger["parentPipelineStageId"] == parent_stage["id"]
    assert trigger["parameters"] == {"region": "eu-west-1"}
    assert trigger["user"] == "ada"
    assert by_ref(child, "1")["outputs"]["region"] == "eu-west-1"
    grandchild = await child_of(orca, child, "2")
    assert grandchild["status"] == "SUCCEEDED"
    assert grandchild["trigger"]["parentExecution"]["id"] == child["id"]


async def test_a_failing_child_fails_its_parent_stage(orca: Orca, front50: Front50) -> None:
    failing = {"type": "expression", "context": {"expression": "${false}", "failureMessage": "not today"}}
    front50.add("child", stage("1", "checkPreconditions", preconditions=[failing]))
    execution = await orca.finished(await orca.start(pipeline(child_stage("child"), stage("2", after=("1",)))))

    assert execution["status"] == "TERMINAL", summary(execution)
    assert by_ref(execution, "1")["status"] == "TERMINAL"
    assert by_ref(execution, "2")["status"] == "NOT_STARTED"
    child = await child_of(orca, execution)
    assert child["status"] == "TERMINAL"
    error = by_ref(execution, "1")["context"]["exception"]["details"]["error"]
    assert error == f"child pipeline {child['id']} finished TERMINAL"


async def test_a_failing_child_with_continue_pipeline_lets_the_parent_go_on(orca: Orca, front50: Front50) -> None:
    failing = {"type": "expression", "context": {"expression": "${false}"}}
    front50.add("child", stage("1", "checkPreconditions", preconditions=[failing]))
    config = pipeline(child_stage("child", continuePipeline=True), stage("2", after=("1",)))
    execution = await orca.finished(await orca.start(config))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert by_ref(execution, "1")["status"] == "FAILED_CONTINUE"


async def test_cancelling_the_parent_cancels_the_running_child(orca: Orca, front50: Front50) -> None:
    front50.add("child", stage("1", "manualJudgment"))
    execution_id = await orca.start(pipeline(child_stage("child")))
    running = await orca.until(execution_id, lambda e: "executionId" in by_ref(e, "1")["context"])
    child_id = by_ref(running, "1")["context"]["executionId"]
    await orca.until(child_id, lambda e: by_ref(e, "1")["status"] == "RUNNING")

    await orca.send(CancelExecution(execution_id=execution_id, authority=admin("ops"), reason="wrong build"))

    assert (await orca.finished(execution_id))["status"] == "CANCELED"
    child = await orca.finished(child_id)
    assert child["status"] == "CANCELED"
    # Orca cancels the child with the authority that started it (the parent's) and says who cancelled the parent
    assert child["canceledBy"] == "anonymous"
    assert child["cancellationReason"] == "parent stage 'pipeline 1' CANCELED (canceled by ops)"


async def test_without_wait_for_completion_the_parent_goes_on(orca: Orca, front50: Front50) -> None:
    front50.add("child", stage("1", "manualJudgment"))
    execution = await orca.finished(await orca.start(pipeline(child_stage("child", waitForCompletion=False))))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    child = await child_of(orca, execution)
    assert child["status"] == "RUNNING"
    await orca.send(
        JudgeStage(
            authority=ADMIN, execution_id=child["id"], stage_id=by_ref(child, "1")["id"], judgment_status="continue"
        )
    )
    assert (await orca.finished(child["id"]))["status"] == "SUCCEEDED"


async def test_an_unknown_pipeline_config_fails_the_stage(orca: Orca, front50: Front50) -> None:
    execution = await orca.finished(await orca.start(pipeline(child_stage("nope"))))

    assert execution["status"] == "TERMINAL", summary(execution)
    error = by_ref(execution, "1")["context"]["exception"]["details"]["error"]
    assert "no pipeline config 'nope' in Front50" in error


async def test_a_repeated_start_makes_one_child(orca: Orca, front50: Front50) -> None:
    front50.add("child", stage("1", "manualJudgment"))
    execution_id = await orca.start(pipeline(child_stage("child")))
    running = await orca.until(execution_id, lambda e: "executionId" in by_ref(e, "1")["context"])
    parent_stage = by_ref(running, "1")
    child_id = parent_stage["context"]["executionId"]
    child = await orca.until(child_id, lambda e: by_ref(e, "1")["status"] == "RUNNING")

    repeat = StartChildPipeline(
        authority=ADMIN,
        execution_id=execution_id,
        stage_id=parent_stage["id"],
        task_id="1",
        attempt=1,
        child_execution_id=child_id,
        pipeline_config_id="child",
    )
    await orca.send(repeat)
    await orca.send(repeat.model_copy(update={"attempt": 2}))
    await orca.send(
        StartExecution(
            authority=ADMIN, execution_id=child_id, pipeline=front50.configs["child"], trigger=child["trigger"]
        )
    )
    await orca.send(
        JudgeStage(
            authority=ADMIN, execution_id=child_id, stage_id=by_ref(child, "1")["id"], judgment_status="continue"
        )
    )

    assert (await orca.finished(execution_id))["status"] == "SUCCEEDED"
    assert [found["id"] for found in await children(orca, "child")] == [child_id]
    assert front50.asked == ["child"]


async def test_restarting_the_stage_runs_a_new_child(orca: Orca, front50: Front50) -> None:
    front50.add("child", stage("1", "manualJudgment"))
    execution_id = await orca.start(pipeline(child_stage("child")))

    async def judge(answer: Literal["continue", "stop"]) -> str:
        running = await orca.until(
            execution_id, lambda e: e["status"] == "RUNNING" and "executionId" in by_ref(e, "1")["context"]
        )
        child_id = str(by_ref(running, "1")["context"]["executionId"])
        child = await orca.until(child_id, lambda e: by_ref(e, "1")["status"] == "RUNNING")
        await orca.send(
            JudgeStage(
                authority=ADMIN, execution_id=child_id, stage_id=by_ref(child, "1")["id"], judgment_status=answer
            )
        )
        return child_id

    first = await judge("stop")
    failed = await orca.finished(execution_id)
    assert failed["status"] == "TERMINAL", summary(failed)

    await orca.send(RestartStage(execution_id=execution_id, stage_id=by_ref(failed, "1")["id"], authority=admin("ops")))
    await orca.until(execution_id, lambda e: by_ref(e, "1")["context"].get("executionId") != first)
    second = await judge("continue")

    execution = await orca.finished(execution_id)
    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert second != first
    assert sorted(found["id"] for found in await children(orca, "child")) == sorted([first, second])
