"""A failure in one branch, with each of Spinnaker's "if stage fails" options, ends where Orca ends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, summary

FALSE = [{"type": "expression", "context": {"expression": False, "failureMessage": "not today"}}]


def branching(**options: Any) -> dict[str, Any]:
    """1 → (5 waits 0.1 s → 2 fails | 3 waits 1.5 s, long enough to still run under load) → 4."""
    return pipeline(
        stage("1"),
        stage("5", after=("1",), waitTime=0.1),
        stage("2", "checkPreconditions", after=("5",), preconditions=FALSE, **options),
        stage("3", after=("1",), waitTime=1.5),
        stage("4", after=("2", "3")),
    )


async def test_a_failure_fails_the_pipeline_and_cancels_the_other_branch(orca: Orca) -> None:
    execution = await orca.finished(await orca.start(branching()))
    assert summary(execution) == {
        "status": "TERMINAL",
        "1": "SUCCEEDED",
        "5": "SUCCEEDED",
        "2": "TERMINAL",
        "3": "CANCELED",
        "4": "NOT_STARTED",
    }
    assert by_ref(execution, "2")["context"]["exception"]["details"]["errors"] == ["not today"]


async def test_continue_pipeline_ignores_the_failure(orca: Orca) -> None:
    execution = await orca.finished(await orca.start(branching(continuePipeline=True)))
    assert summary(execution) == {
        "status": "SUCCEEDED",
        "1": "SUCCEEDED",
        "5": "SUCCEEDED",
        "2": "FAILED_CONTINUE",
        "3": "SUCCEEDED",
        "4": "SUCCEEDED",
    }


async def test_fail_pipeline_false_halts_only_its_branch(orca: Orca) -> None:
    execution = await orca.finished(await orca.start(branching(failPipeline=False)))
    assert summary(execution) == {
        "status": "SUCCEEDED",
        "1": "SUCCEEDED",
        "5": "SUCCEEDED",
        "2": "STOPPED",
        "3": "SUCCEEDED",
        "4": "NOT_STARTED",
    }


@pytest.mark.parametrize(
    "options", [{"failPipeline": False, "completeOtherBranchesThenFail": True}, {"completeOtherBranchesThenFail": True}]
)
async def test_complete_other_branches_then_fail(orca: Orca, options: dict[str, Any]) -> None:
    execution = await orca.finished(await orca.start(branching(**options)))
    assert summary(execution) == {
        "status": "TERMINAL",
        "1": "SUCCEEDED",
        "5": "SUCCEEDED",
        "2": "STOPPED",
        "3": "SUCCEEDED",
        "4": "NOT_STARTED",
    }
    assert execution["endTime"] >= by_ref(execution, "3")["endTime"]


async def test_a_disabled_stage_is_skipped(orca: Orca) -> None:
    disabled = {"type": "expression", "expression": "${ false }"}
    execution = await orca.finished(
        await orca.start(pipeline(stage("1", stageEnabled=disabled), stage("2", after=("1",))))
    )
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SKIPPED", "2": "SUCCEEDED"}
    assert by_ref(execution, "1")["tasks"] == []


async def test_a_stage_times_out(orca: Orca) -> None:
    execution = await orca.finished(await orca.start(pipeline(stage("1", waitTime=30, stageTimeoutMs=200))))
    assert summary(execution) == {"status": "TERMINAL", "1": "TERMINAL"}
    wait = by_ref(execution, "1")
    assert wait["context"]["exception"]["exceptionType"] == "TimeoutException"
    assert 200 <= wait["endTime"] - wait["startTime"] < 5000


async def test_preconditions_that_hold_let_the_pipeline_go_on(orca: Orca) -> None:
    holds = [{"type": "expression", "context": {"expression": "true"}}]
    execution = await orca.finished(await orca.start(pipeline(stage("1", "checkPreconditions", preconditions=holds))))
    assert execution["status"] == "SUCCEEDED"


async def test_a_precondition_with_fail_pipeline_false_stops_its_branch(orca: Orca) -> None:
    soft = [{"type": "expression", "failPipeline": False, "context": {"expression": False}}]
    execution = await orca.finished(
        await orca.start(pipeline(stage("1", "checkPreconditions", preconditions=soft), stage("2", after=("1",))))
    )
    assert summary(execution) == {"status": "SUCCEEDED", "1": "STOPPED", "2": "NOT_STARTED"}


async def test_an_invalid_pipeline_is_terminal_with_the_reason(orca: Orca) -> None:
    execution = await orca.finished(await orca.start(pipeline(stage("1", after=("2",)), stage("2", after=("1",)))))
    assert execution["status"] == "TERMINAL"
    assert "cycle" in execution["exception"]["details"]["error"]
    execution = await orca.finished(await orca.start(pipeline(stage("1", after=("9",)))))
    assert "'9'" in execution["exception"]["details"]["error"]
