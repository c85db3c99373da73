"""What operators do to a running execution: judge, cancel, pause and resume, skip, restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from schemas.json_types import Json
from schemas.orca_engine import (
    CancelExecution,
    JudgeStage,
    PauseExecution,
    RestartStage,
    ResumeExecution,
    SkipStage,
    UpdateStage,
)
from tests.authorities import ADMIN, admin
from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, summary

JUDGMENT = pipeline(stage("1", "manualJudgment", instructions="Ship it?"), stage("2", after=("1",)))


def running(ref_id: str) -> Callable[[Json], bool]:
    return lambda execution: by_ref(execution, ref_id)["status"] == "RUNNING"


async def test_manual_judgment_continue(orca: Orca) -> None:
    execution_id = await orca.start(JUDGMENT)
    execution = await orca.until(execution_id, running("1"))
    await asyncio.sleep(0.1)
    assert (await orca.get(execution_id))["status"] == "RUNNING", "a judgment waits for an answer"
    stage_id = by_ref(execution, "1")["id"]
    judged = await orca.send(
        JudgeStage(
            execution_id=execution_id,
            stage_id=stage_id,
            judgment_status="continue",
            input="yes",
            authority=admin("ana"),
        )
    )
    taken = await orca.until_event(lambda event: event.causationid == judged.id)
    assert taken.type == "io.gennaker.orca.stage.judged.v1"
    assert (taken.data["judgment_status"], taken.data["judged_by"]) == ("continue", "ana")
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
    context = by_ref(execution, "1")["context"]
    assert (context["judgmentStatus"], context["judgmentInput"], context["judgedBy"]) == ("continue", "yes", "ana")
    assert by_ref(execution, "1")["lastModified"]["user"] == "ana"


async def test_manual_judgment_stop(orca: Orca) -> None:
    execution_id = await orca.start(JUDGMENT)
    execution = await orca.until(execution_id, running("1"))
    stage_id = by_ref(execution, "1")["id"]
    await orca.send(
        JudgeStage(execution_id=execution_id, stage_id=stage_id, judgment_status="stop", authority=admin("bo"))
    )
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "TERMINAL", "1": "TERMINAL", "2": "NOT_STARTED"}
    assert by_ref(execution, "1")["context"]["judgedBy"] == "bo"
    again = await orca.send(
        JudgeStage(execution_id=execution_id, stage_id=stage_id, judgment_status="continue", authority=admin("cy"))
    )
    refused = await orca.until_event(lambda event: event.causationid == again.id)
    assert refused.type == "io.gennaker.orca.command.rejected.v1"
    assert refused.data["status"] == 409
    assert "was already judged 'stop' by bo" in refused.data["reason"]
    assert await orca.get(execution_id) == execution, "a judged stage is not judged again"


async def test_cancel_during_a_wait(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1", waitTime=0.3), stage("2", after=("1",))))
    await orca.until(execution_id, running("1"))
    await orca.send(CancelExecution(execution_id=execution_id, authority=admin("ana"), reason="wrong build"))
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "CANCELED", "1": "CANCELED", "2": "NOT_STARTED"}
    assert (execution["canceled"], execution["canceledBy"], execution["cancellationReason"]) == (
        True,
        "ana",
        "wrong build",
    )
    assert by_ref(execution, "1")["tasks"][0]["status"] == "CANCELED"
    await asyncio.sleep(0.5)  # the wait's timer fires into a canceled execution and changes nothing
    assert summary(await orca.get(execution_id)) == summary(execution)
    again = await orca.send(CancelExecution(execution_id=execution_id, authority=admin("bo")))
    refused = await orca.until_event(lambda event: event.causationid == again.id)
    assert (refused.type, refused.data["status"]) == ("io.gennaker.orca.command.rejected.v1", 409)
    assert "has already finished (CANCELED by ana)" in refused.data["reason"]


async def test_pause_and_resume(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1", waitTime=0.2), stage("2", after=("1",))))
    await orca.until(execution_id, running("1"))
    pause = await orca.send(PauseExecution(execution_id=execution_id, authority=admin("ana")))
    paused = await orca.until_event(lambda event: event.causationid == pause.id)
    assert (paused.type, paused.data["paused_by"]) == ("io.gennaker.orca.execution.paused.v1", "ana")
    execution = await orca.until(execution_id, lambda e: e["status"] == "PAUSED")
    assert by_ref(execution, "1")["status"] == "PAUSED"
    await asyncio.sleep(0.4)  # longer than the wait: a paused execution does not go on
    execution = await orca.get(execution_id)
    assert summary(execution) == {"status": "PAUSED", "1": "PAUSED", "2": "NOT_STARTED"}
    assert execution["paused"]["pausedBy"] == "ana" and execution["paused"]["isPaused"] is True
    resume = await orca.send(ResumeExecution(execution_id=execution_id, authority=admin("bo")))
    resumed = await orca.until_event(lambda event: event.causationid == resume.id)
    assert (resumed.type, resumed.data["resumed_by"]) == ("io.gennaker.orca.execution.resumed.v1", "bo")
    assert resumed.data["paused_ms"] >= 400
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
    assert execution["paused"]["resumedBy"] == "bo" and execution["paused"]["isPaused"] is False
    assert execution["paused"]["pausedMs"] >= 400


async def test_skip_a_running_stage(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1", waitTime=60), stage("2", after=("1",))))
    execution = await orca.until(execution_id, running("1"))
    await orca.send(SkipStage(execution_id=execution_id, stage_id=by_ref(execution, "1")["id"], authority=admin("ana")))
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SKIPPED", "2": "SUCCEEDED"}


async def test_skip_remaining_wait(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1", waitTime=60)))
    execution = await orca.until(execution_id, running("1"))
    stage_id = by_ref(execution, "1")["id"]
    await orca.send(
        UpdateStage(authority=ADMIN, execution_id=execution_id, stage_id=stage_id, context={"skipRemainingWait": True})
    )
    execution = await orca.finished(execution_id, timeout=5)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED"}
    assert by_ref(execution, "1")["context"]["skipRemainingWait"] is True


async def test_restart_a_failed_stage(orca: Orca) -> None:
    execution_id = await orca.start(JUDGMENT)
    execution = await orca.until(execution_id, running("1"))
    stage_id = by_ref(execution, "1")["id"]
    await orca.send(
        JudgeStage(execution_id=execution_id, stage_id=stage_id, judgment_status="stop", authority=admin("bo"))
    )
    assert (await orca.finished(execution_id))["status"] == "TERMINAL"
    await orca.send(RestartStage(execution_id=execution_id, stage_id=stage_id, authority=admin("ana")))
    await orca.until(execution_id, running("1"))
    await orca.send(
        JudgeStage(execution_id=execution_id, stage_id=stage_id, judgment_status="continue", authority=admin("cy"))
    )
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
    assert by_ref(execution, "1")["context"]["restartDetails"]["restartedBy"] == "ana"
    assert by_ref(execution, "1")["context"]["judgedBy"] == "cy"
