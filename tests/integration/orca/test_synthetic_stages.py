"""Synthetic stages (Orca's before / after / on-failure stages) and the saga: a pipeline that fails
with ``rollback.onFailure`` runs the compensations of its completed stages, latest first, each a
stage of its own with a status."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiohttp import web
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from gennaker.settings import Settings
from schemas.json_types import Json
from schemas.orca_engine import CancelExecution, RestartStage
from tests.authorities import admin
from tests.integration.orca.conftest import FAST, Orca, by_ref, pipeline, stage, summary, tap_events
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages.base import TaskDefinition
from workers.orca.engine.stages.wait import WaitTask


class ReleaseStage:
    """A test stage type: two parallel preparations, a wait of its own, then an announcement."""

    type = "release"

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (WaitTask(),)

    def before_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        failing = stage.context.get("failPreparation") is True
        return [
            {"refId": "a", "type": "wait", "name": "prepare a", "waitTime": "soon" if failing else 0},
            {"refId": "b", "type": "wait", "name": "prepare b", "waitTime": 0},
        ]

    def after_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        return [{"type": "wait", "name": "announce", "waitTime": 0}, {"type": "wait", "name": "tidy", "waitTime": 0}]

    def compensation(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        return [{"type": "wait", "name": f"undo {stage.name}", "waitTime": 0}]


@pytest.fixture
async def orca(db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[Orca]:
    bus = MemoryBus(source="/test")
    system = Orca(
        bus,
        db,
        options=dataclasses.replace(FAST, extra_stage_types=(ReleaseStage(),)),
        settings=Settings(outbound=LOOPBACK_TEST_SERVERS),
    )
    tap = await tap_events(bus, system)
    await system.start_host()
    try:
        yield system
    finally:
        await system.stop_host()
        await tap.stop()
        await bus.close()


@pytest.fixture
async def calls() -> AsyncIterator[tuple[str, list[str]]]:
    """A local HTTP server recording the paths called, in order."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({}, status=500 if request.path.startswith("/fail") else 200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


def top_level(execution: Json) -> Json:
    """The execution's status and its top-level stages' by refId."""
    return {k: v for k, v in summary(execution).items() if k == "status" or (">" not in k and "<" not in k)}


def named(execution: Json, name: str) -> Json:
    return next(stage for stage in execution["stages"] if stage["name"] == name)


def hook(ref_id: str, base: str, path: str, *, after: tuple[str, ...] = (), **context: Any) -> Json:
    return stage(ref_id, "webhook", after=after, url=f"{base}{path}", retryBackoffMs=10, maxAttempts=1, **context)


async def test_before_and_after_stages_run_around_the_stage_s_own_tasks(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1", "release"), stage("2", after=("1",))))
    execution = await orca.finished(execution_id)
    assert summary(execution)["status"] == "SUCCEEDED"
    release = by_ref(execution, "1")
    owned = {s["name"]: s for s in execution["stages"] if s["parentStageId"] == release["id"]}
    assert set(owned) == {"prepare a", "prepare b", "announce", "tidy"}
    assert all(s["status"] == "SUCCEEDED" for s in owned.values())
    assert owned["prepare a"]["syntheticStageOwner"] == "STAGE_BEFORE"
    assert owned["announce"]["syntheticStageOwner"] == "STAGE_AFTER"
    assert owned["announce"]["refId"] == "1>1" and owned["tidy"]["requisiteStageRefIds"] == ["1>1"]
    own_task = release["tasks"][0]
    assert max(owned["prepare a"]["endTime"], owned["prepare b"]["endTime"]) <= own_task["startTime"]
    assert own_task["endTime"] <= owned["announce"]["startTime"] <= owned["tidy"]["startTime"]
    assert release["endTime"] >= owned["tidy"]["endTime"]
    assert by_ref(execution, "2")["startTime"] >= release["endTime"]


async def test_a_failed_before_stage_fails_its_parent_without_running_its_tasks(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1", "release", failPreparation=True), stage("2", after=("1",))))
    execution = await orca.finished(execution_id)
    assert top_level(execution) == {"status": "TERMINAL", "1": "TERMINAL", "2": "NOT_STARTED"}
    assert named(execution, "prepare a")["status"] == "TERMINAL"
    assert by_ref(execution, "1")["tasks"][0]["status"] == "NOT_STARTED"
    assert not [s for s in execution["stages"] if s["name"] in ("announce", "tidy")]


async def test_a_failing_stage_with_rollback_on_failure_runs_its_compensation(
    orca: Orca, calls: tuple[str, list[str]]
) -> None:
    base, seen = calls
    undo = {"type": "webhook", "name": "undo the release", "url": f"{base}/undo", "maxAttempts": 1}
    failing = hook("1", base, "/fail", rollback={"onFailure": True}, compensation=[undo])
    execution = await orca.finished(await orca.start(pipeline(failing)))
    assert top_level(execution) == {"status": "TERMINAL", "1": "TERMINAL"}
    step = named(execution, "undo the release")
    assert step["status"] == "SUCCEEDED" and step["parentStageId"] == by_ref(execution, "1")["id"]
    assert by_ref(execution, "1")["context"]["rollback"]["status"] == "SUCCEEDED"
    assert seen == ["/fail", "/undo"]


async def test_the_saga_undoes_completed_stages_latest_first_when_the_pipeline_fails(
    orca: Orca, calls: tuple[str, list[str]]
) -> None:
    base, seen = calls

    def undo(path: str) -> Json:
        return {"type": "webhook", "name": f"undo {path}", "url": f"{base}/undo{path}", "maxAttempts": 1}

    config = pipeline(
        hook("1", base, "/create-bucket", compensation=[undo("/create-bucket")]),
        hook("2", base, "/create-queue", after=("1",), compensation=[undo("/create-queue"), undo("/purge")]),
        stage("3", after=("2",)),  # nothing to undo
        hook("4", base, "/fail", after=("3",)),
        rollback={"onFailure": True},
    )
    execution = await orca.finished(await orca.start(config))
    assert execution["status"] == "TERMINAL"
    assert seen == [
        "/create-bucket",
        "/create-queue",
        "/fail",
        "/undo/create-queue",
        "/undo/purge",
        "/undo/create-bucket",
    ]
    steps = [s for s in execution["stages"] if s["refId"].split(">")[-1].startswith("rollback")]
    assert {s["name"]: s["status"] for s in steps} == {
        "undo /create-queue": "SUCCEEDED",
        "undo /purge": "SUCCEEDED",
        "undo /create-bucket": "SUCCEEDED",
    }
    assert named(execution, "undo /create-bucket")["parentStageId"] == by_ref(execution, "1")["id"]
    assert execution["rollback"]["status"] == "SUCCEEDED"
    assert execution["endTime"] >= named(execution, "undo /create-bucket")["endTime"]


async def test_a_stage_type_s_own_compensation_runs_and_a_failed_step_marks_the_rollback(
    orca: Orca, calls: tuple[str, list[str]]
) -> None:
    base, seen = calls
    broken_undo = {"type": "webhook", "name": "undo hook", "url": f"{base}/fail-undo", "maxAttempts": 1}
    config = pipeline(
        stage("1", "release", name="release v1"),
        hook("2", base, "/hook", after=("1",), compensation=[broken_undo]),
        hook("3", base, "/fail", after=("2",)),
        rollback={"onFailure": True},
    )
    execution = await orca.finished(await orca.start(config))
    assert execution["status"] == "TERMINAL"
    assert named(execution, "undo hook")["status"] == "TERMINAL"
    assert named(execution, "undo release v1")["status"] == "SUCCEEDED"  # one failed step does not stop the rest
    assert named(execution, "undo hook")["endTime"] <= named(execution, "undo release v1")["startTime"]
    assert execution["rollback"]["status"] == "TERMINAL"
    assert seen.count("/fail-undo") == 1


async def test_without_rollback_on_failure_nothing_is_undone(orca: Orca, calls: tuple[str, list[str]]) -> None:
    base, seen = calls
    undo = {"type": "webhook", "name": "undo", "url": f"{base}/undo", "maxAttempts": 1}
    config = pipeline(hook("1", base, "/ok", compensation=[undo]), hook("2", base, "/fail", after=("1",)))
    execution = await orca.finished(await orca.start(config))
    assert execution["status"] == "TERMINAL"
    assert seen == ["/ok", "/fail"]
    assert [s["name"] for s in execution["stages"]] == ["webhook 1", "webhook 2"]


async def test_a_succeeding_pipeline_never_compensates(orca: Orca) -> None:
    config = pipeline(stage("1", "release"), stage("2", after=("1",)), rollback={"onFailure": True})
    execution = await orca.finished(await orca.start(config))
    assert execution["status"] == "SUCCEEDED"
    assert not [s for s in execution["stages"] if "rollback" in s["refId"]]


async def test_cancel_stops_a_stage_and_its_running_synthetic_stages(orca: Orca) -> None:
    config = pipeline(stage("1", "release", waitTime=60))
    execution_id = await orca.start(config)
    await orca.until(execution_id, lambda e: [t["status"] for t in by_ref(e, "1")["tasks"]] == ["RUNNING"])
    await orca.send(CancelExecution(execution_id=execution_id, authority=admin("ops")))
    execution = await orca.finished(execution_id)
    assert summary(execution)["status"] == "CANCELED"
    assert by_ref(execution, "1")["status"] == "CANCELED"
    assert not [s for s in execution["stages"] if s["status"] == "RUNNING"]


async def test_restarting_a_failed_stage_after_a_rollback_plans_it_again(
    orca: Orca, calls: tuple[str, list[str]]
) -> None:
    base, seen = calls
    undo = {"type": "webhook", "name": "undo", "url": f"{base}/undo", "maxAttempts": 1}
    config = pipeline(
        hook("1", base, "/ok", compensation=[undo]),
        stage("2", "release", after=("1",), failPreparation=True),
        rollback={"onFailure": True},
    )
    execution_id = await orca.start(config)
    failed = await orca.finished(execution_id)
    assert failed["status"] == "TERMINAL" and named(failed, "undo")["status"] == "SUCCEEDED"
    release = by_ref(failed, "2")
    await orca.send(RestartStage(execution_id=execution_id, stage_id=release["id"], authority=admin("ops")))
    again = await orca.until(
        execution_id,
        lambda e: (
            "restartDetails" in by_ref(e, "2")["context"]
            and e["status"] == "TERMINAL"
            and bool(e["rollback"].get("status"))
        ),
    )
    assert seen.count("/undo") == 2  # failed again, undone again
    assert len([s for s in again["stages"] if s["name"] == "prepare a"]) == 1
