"""Pipelines start pipelines: a ``pipeline`` trigger fires when the pipeline it names finishes with
a status it lists, and ``orca.TriggerPipeline`` starts a config by name or id for other services.
Front50 runs for real on the same store; its configs are saved over the bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas import parse_cloudevent_type
from schemas.front50 import GetPipelineConfig, PipelineFound, SavePipeline
from schemas.json_types import Json
from schemas.orca_engine import ExecutionCompleted, ExecutionList, ListExecutions, TriggerPipeline
from tests.authorities import ADMIN
from tests.integration.orca.conftest import FAST, Orca, pipeline, stage, tap_events
from workers.front50 import worker as front50


@pytest.fixture
async def orca(db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[Orca]:
    """Orca with pipeline triggers on, next to a real Front50."""
    bus = MemoryBus(source="/test")
    front50_host = ServiceHost(bus, front50.build_service(WorkerResources(Settings(), db)))
    await front50_host.start()
    system = Orca(bus, db, options=replace(FAST, pipeline_triggers=True))
    tap = await tap_events(bus, system)
    await system.start_host()
    try:
        yield system
    finally:
        await system.stop_host()
        await front50_host.stop()
        await tap.stop()
        await bus.close()


async def save(orca: Orca, config: Json) -> Json:
    await orca.send(SavePipeline(authority=ADMIN, pipeline=config))
    for _ in range(250):
        reply = await orca.bus.ask(GetPipelineConfig(id=config["id"]), timeout=5)
        if isinstance(reply, PipelineFound) and reply.pipeline is not None:
            return reply.pipeline
        await asyncio.sleep(0.02)
    raise AssertionError(f"Front50 never saved {config['id']}")


def on(parent: str, *statuses: str, application: str = "billing", enabled: bool = True) -> Json:
    return {
        "type": "pipeline",
        "application": application,
        "pipeline": parent,
        "status": list(statuses),
        "enabled": enabled,
    }


async def runs_of(orca: Orca, config_id: str) -> list[Json]:
    reply = await orca.bus.ask(ListExecutions(pipeline_config_ids=[config_id], limit=20), timeout=5)
    assert isinstance(reply, ExecutionList)
    return reply.executions


async def eventually_runs(orca: Orca, config_id: str, count: int = 1, timeout: float = 10.0) -> list[Json]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        runs = await runs_of(orca, config_id)
        if len(runs) >= count and all(run["status"] == "SUCCEEDED" for run in runs):
            return runs
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{config_id} ran {[run['status'] for run in runs]}, expected {count} successful")
        await asyncio.sleep(0.02)


async def test_a_success_starts_the_pipelines_triggered_on_success_only(orca: Orca) -> None:
    parent = await save(orca, pipeline(stage("1"), id="parent", name="build"))
    await save(orca, pipeline(stage("1"), id="on-success", name="deploy", triggers=[on("parent", "successful")]))
    await save(orca, pipeline(stage("1"), id="on-failure", name="rollback", triggers=[on("parent", "failed")]))
    await save(
        orca,
        pipeline(
            stage("1"),
            id="with-params",
            name="notify",
            triggers=[on("parent", "successful", "failed")],
            parameterConfig=[{"name": "channel", "default": "#ops"}],
        ),
    )
    parent_id = await orca.start(parent, {"type": "manual", "user": "ada"})
    assert (await orca.finished(parent_id))["status"] == "SUCCEEDED"

    [child] = await eventually_runs(orca, "on-success")
    trigger = child["trigger"]
    assert trigger["type"] == "pipeline"
    assert trigger["parentExecution"]["id"] == parent_id
    assert (trigger["parentPipelineId"], trigger["parentPipelineName"], trigger["parentStatus"]) == (
        "parent",
        "build",
        "SUCCEEDED",
    )
    assert trigger["user"] == "ada"
    [notify] = await eventually_runs(orca, "with-params")
    assert notify["trigger"]["parameters"] == {"channel": "#ops"}
    await asyncio.sleep(0.3)
    assert await runs_of(orca, "on-failure") == []


async def test_a_failure_starts_the_pipelines_triggered_on_failure(orca: Orca) -> None:
    parent = await save(orca, pipeline(stage("1", waitTime=30, stageTimeoutMs=200), id="parent", name="build"))
    await save(orca, pipeline(stage("1"), id="on-failure", name="rollback", triggers=[on("parent", "failed")]))
    await save(orca, pipeline(stage("1"), id="on-success", name="deploy", triggers=[on("parent", "successful")]))
    parent_id = await orca.start(parent)
    assert (await orca.finished(parent_id))["status"] == "TERMINAL"
    [child] = await eventually_runs(orca, "on-failure")
    assert child["trigger"]["parentStatus"] == "TERMINAL"
    await asyncio.sleep(0.3)
    assert await runs_of(orca, "on-success") == []


async def test_a_redelivered_completion_starts_one_execution(orca: Orca) -> None:
    parent = await save(orca, pipeline(stage("1"), id="parent", name="build"))
    await save(orca, pipeline(stage("1"), id="child", name="deploy", triggers=[on("parent", "successful")]))
    parent_id = await orca.start(parent)
    await orca.finished(parent_id)
    await eventually_runs(orca, "child")
    completed = ExecutionCompleted(
        execution_id=parent_id, application="billing", name="build", pipeline_config_id="parent", status="SUCCEEDED"
    )
    await orca.bus.publish(completed, subject=parent_id)
    await orca.bus.publish(completed, subject=parent_id)
    await asyncio.sleep(0.5)
    assert len(await runs_of(orca, "child")) == 1


async def test_disabled_triggers_and_configs_are_ignored(orca: Orca) -> None:
    parent = await save(orca, pipeline(stage("1"), id="parent", name="build"))
    await save(
        orca,
        pipeline(
            stage("1"), id="off-trigger", name="off-trigger", triggers=[on("parent", "successful", enabled=False)]
        ),
    )
    await save(
        orca,
        pipeline(stage("1"), id="off-config", name="off-config", disabled=True, triggers=[on("parent", "successful")]),
    )
    await save(
        orca,
        pipeline(stage("1"), id="other-app", name="other-app", triggers=[on("parent", "successful", application="x")]),
    )
    await save(orca, pipeline(stage("1"), id="on", name="on", triggers=[on("parent", "successful")]))
    await orca.finished(await orca.start(parent))
    await eventually_runs(orca, "on")
    await asyncio.sleep(0.3)
    for config_id in ("off-trigger", "off-config", "other-app"):
        assert await runs_of(orca, config_id) == [], config_id


async def test_trigger_pipeline_by_name_and_by_id_with_parameters(orca: Orca) -> None:
    await save(
        orca,
        pipeline(
            stage("1"),
            id="deploy-id",
            name="deploy",
            parameterConfig=[{"name": "env", "default": "staging"}, {"name": "region", "default": "eu"}],
        ),
    )
    by_name = TriggerPipeline(
        authority=ADMIN,
        application="billing",
        pipeline_name_or_id="deploy",
        trigger={"type": "webhook", "user": "echo", "parameters": {"env": "prod"}, "payload": {"ref": "main"}},
        idempotency_key="hook-1",
    )
    await orca.send(by_name)
    await orca.send(by_name)
    [run] = await eventually_runs(orca, "deploy-id")
    assert run["trigger"]["type"] == "webhook"
    assert run["trigger"]["parameters"] == {"env": "prod", "region": "eu"}
    assert run["trigger"]["payload"] == {"ref": "main"}
    await orca.send(
        TriggerPipeline(
            authority=ADMIN,
            application="billing",
            pipeline_name_or_id="deploy-id",
            trigger={"type": "cron"},
            idempotency_key="cron-1",
        )
    )
    runs = await eventually_runs(orca, "deploy-id", 2)
    assert len(runs) == 2
    assert {run["trigger"]["type"] for run in runs} == {"webhook", "cron"}
    assert "orca.execution.started" in orca.event_types(runs[0]["id"])


async def test_unknown_and_disabled_pipelines_are_rejected(orca: Orca) -> None:
    await save(orca, pipeline(stage("1"), id="off", name="off", disabled=True))
    for name in ("nope", "off"):
        await orca.send(
            TriggerPipeline(authority=ADMIN, application="billing", pipeline_name_or_id=name, idempotency_key=name)
        )
    deadline = asyncio.get_running_loop().time() + 5
    rejected: list[Json] = []
    while len(rejected) < 2 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
        rejected = [
            event.data
            for event in orca.events
            if parse_cloudevent_type(event.type)[0] == "orca.command.rejected"
            and event.data.get("command_type") == "orca.TriggerPipeline"
        ]
    assert sorted((event["status"], "disabled" in event["reason"]) for event in rejected) == [(400, True), (404, False)]
    assert await runs_of(orca, "off") == []
