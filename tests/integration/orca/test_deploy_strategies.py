"""Orca's deploy stages composed from Clouddriver's operations: each strategy's steps appear as
synthetic stages in order, rolling red/black grows the new server group step by step, and a failed
deploy with ``rollback.onFailure`` restores the server group it replaced.

Clouddriver here is a peer on the bus speaking its contract (``orca.RunExternalTask`` in,
``clouddriver.task.heartbeat`` / ``clouddriver.task.completed`` out) over an in-memory cluster, so
these tests look at Orca's side; tests/integration/clouddriver deploys real processes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import Endpoint, MemoryBus, MessageContext
from schemas.clouddriver_operations import TaskCompleted, TaskHeartbeat
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask
from tests.integration.orca.conftest import FAST, Orca, by_ref, pipeline, stage
from workers.orca.engine import EngineOptions


@dataclasses.dataclass
class ClouddriverTwin:
    """One cluster's server groups in memory; records every operation Orca asks for.

    Like Clouddriver's journal, it runs each task attempt once: a redelivered or re-driven
    command (at-least-once) gets the recorded answer again."""

    groups: dict[str, Json] = dataclasses.field(default_factory=dict)
    operations: list[tuple[str, Json]] = dataclasses.field(default_factory=list)
    unhealthy: set[str] = dataclasses.field(default_factory=set)
    answers: dict[tuple[str, ...], TaskCompleted] = dataclasses.field(default_factory=dict)

    async def run(self, command: RunExternalTask, context: MessageContext) -> None:
        ids = {k: getattr(command, k) for k in ("execution_id", "stage_id", "task_id", "attempt")}
        key = tuple(str(value) for value in ids.values())
        if key in self.answers:
            await context.publish(self.answers[key])
            return
        ctx = command.context
        self.operations.append((command.stage_type, ctx))
        outputs: Json = {}
        error = None
        if command.stage_type == "createServerGroup":
            name = f"{ctx['application']}-v{len(self.groups) + 1:03d}"
            enabled = [g for g in self.groups if not self.groups[g]["disabled"]]
            source = {"serverGroupName": enabled[-1]} if enabled else None
            self.groups[name] = {"disabled": False, "desired": ctx["capacity"]["desired"]}
            outputs = {"serverGroupName": name, "region": "local", **({"source": source} if source else {})}
            await context.publish(TaskHeartbeat(**ids, progress=f"created {name}", context=outputs))
            if ctx.get("version") in self.unhealthy:
                error = f"{name}: 0 of 1 instances healthy"
        elif command.stage_type == "disableCluster":
            for name in list(self.groups)[:-1]:
                self.groups[name]["disabled"] = True
        elif command.stage_type == "shrinkCluster":
            for name in list(self.groups)[: -ctx["shrinkToSize"]]:
                del self.groups[name]
        elif command.stage_type == "resizeServerGroup":
            self.groups[ctx["serverGroupName"]]["desired"] = ctx["capacity"]["desired"]
        elif command.stage_type == "rollbackServerGroup":
            rollback = ctx["rollbackContext"]
            self.groups[rollback["restoreServerGroupName"]]["disabled"] = False
            self.groups[rollback["rollbackServerGroupName"]]["disabled"] = True
        elif command.stage_type == "disableServerGroup" and ctx.get("desiredPercentage", 100) >= 100:
            self.groups[ctx["serverGroupName"]]["disabled"] = True
        status = "TERMINAL" if error else "SUCCEEDED"
        self.answers[key] = TaskCompleted(**ids, status=status, outputs=outputs, context=outputs, error=error)
        await context.publish(self.answers[key])

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.operations]

    def enabled(self) -> list[str]:
        return [name for name, group in self.groups.items() if not group["disabled"]]


@pytest.fixture
async def system(db: AsyncDatabase[dict[str, Any]]) -> AsyncIterator[tuple[Orca, ClouddriverTwin]]:
    bus = MemoryBus(source="/test")
    defaults = EngineOptions()
    options = dataclasses.replace(
        FAST,
        external_stage_types=defaults.external_stage_types,
        extra_stage_types=defaults.extra_stage_types,
    )
    orca = Orca(bus, db, options=options)
    twin = ClouddriverTwin()
    worker = await bus.consume(
        Endpoint(service="clouddriver", kind="commands", handlers={RunExternalTask.message_type: twin.run})
    )
    await orca.start_host()
    try:
        yield orca, twin
    finally:
        await orca.stop_host()
        await worker.stop()
        await bus.close()


def cluster(version: str, strategy: str, **extra: Any) -> Json:
    return {
        "application": "hello",
        "account": "local",
        "cloudProvider": "local",
        "region": "local",
        "capacity": {"min": 2, "max": 4, "desired": 4},
        "strategy": strategy,
        "version": version,
        **extra,
    }


def deploy(version: str, strategy: str, **extra: Any) -> Json:
    return pipeline(stage("1", "deploy", clusters=[cluster(version, strategy, **extra)]), application="hello")


def steps(execution: Json) -> list[tuple[str, str, str]]:
    return [(s["type"], s["name"], s["status"]) for s in execution["stages"] if s["parentStageId"]]


async def test_red_black_creates_then_disables_scales_down_and_shrinks(
    system: tuple[Orca, ClouddriverTwin],
) -> None:
    orca, twin = system
    assert (await orca.finished(await orca.start(deploy("1", "redblack"))))["status"] == "SUCCEEDED"
    config = deploy("2", "redblack", scaleDown=True, maxRemainingAsgs=2, delayBeforeDisableSec=0.05)
    execution = await orca.finished(await orca.start(config))
    assert execution["status"] == "SUCCEEDED"
    assert [(kind, status) for kind, _, status in steps(execution)] == [
        ("createServerGroup", "SUCCEEDED"),
        ("wait", "SUCCEEDED"),
        ("disableCluster", "SUCCEEDED"),
        ("scaleDownCluster", "SUCCEEDED"),
        ("shrinkCluster", "SUCCEEDED"),
    ]
    create = next(s for s in execution["stages"] if s["type"] == "createServerGroup")
    assert create["syntheticStageOwner"] == "STAGE_BEFORE"
    assert create["parentStageId"] == by_ref(execution, "1")["id"]
    disable = dict(twin.operations)["disableCluster"]
    assert (disable["cluster"], disable["credentials"], disable["remainingEnabledServerGroups"]) == (
        "hello",
        "local",
        1,
    )
    assert dict(twin.operations)["shrinkCluster"]["shrinkToSize"] == 2
    assert twin.enabled() == ["hello-v002"]


async def test_highlander_disables_then_destroys_every_other_server_group(
    system: tuple[Orca, ClouddriverTwin],
) -> None:
    orca, twin = system
    await orca.finished(await orca.start(deploy("1", "highlander")))
    execution = await orca.finished(await orca.start(deploy("2", "highlander")))
    assert execution["status"] == "SUCCEEDED"
    assert [kind for kind, _, _ in steps(execution)] == ["createServerGroup", "disableCluster", "shrinkCluster"]
    assert list(twin.groups) == ["hello-v002"]
    assert dict(twin.operations)["shrinkCluster"]["allowDeleteActive"] is True


async def test_rolling_red_black_grows_the_new_group_and_disables_the_old_in_steps(
    system: tuple[Orca, ClouddriverTwin],
) -> None:
    orca, twin = system
    await orca.finished(await orca.start(deploy("1", "redblack")))
    execution = await orca.finished(await orca.start(deploy("2", "rollingredblack", targetPercentages=[50, 100])))
    assert execution["status"] == "SUCCEEDED"
    assert [name for _, name, _ in steps(execution)] == [
        "Deploy hello",
        "Grow to 50%",
        "Disable 50% of hello-v001",
        "Grow to 100%",
        "disableCluster",
    ]
    creates = [ctx for kind, ctx in twin.operations if kind == "createServerGroup"]
    assert creates[1]["capacity"] == {"min": 0, "max": 4, "desired": 0}  # starts empty
    resizes = [ctx["capacity"]["desired"] for kind, ctx in twin.operations if kind == "resizeServerGroup"]
    assert resizes == [2, 4]
    assert twin.enabled() == ["hello-v002"]


async def test_a_failed_deploy_with_rollback_on_failure_restores_the_previous_server_group(
    system: tuple[Orca, ClouddriverTwin],
) -> None:
    orca, twin = system
    await orca.finished(await orca.start(deploy("1", "redblack")))
    twin.unhealthy.add("2")
    execution = await orca.finished(await orca.start(deploy("2", "redblack", rollback={"onFailure": True})))
    assert execution["status"] == "TERMINAL"
    rollback = next(s for s in execution["stages"] if s["type"] == "rollbackServerGroup")
    assert rollback["status"] == "SUCCEEDED" and rollback["syntheticStageOwner"] == "STAGE_AFTER"
    assert rollback["context"]["rollbackContext"] == {
        "rollbackServerGroupName": "hello-v002",
        "restoreServerGroupName": "hello-v001",
    }
    assert twin.kinds().count("disableCluster") == 1  # v2's strategy never ran; that one was v1's
    assert twin.enabled() == ["hello-v001"]


async def test_the_saga_rolls_a_deploy_back_when_a_later_stage_fails(system: tuple[Orca, ClouddriverTwin]) -> None:
    orca, twin = system
    await orca.finished(await orca.start(deploy("1", "redblack")))
    config = pipeline(
        stage("1", "deploy", clusters=[cluster("2", "redblack")]),
        stage(
            "2",
            "checkPreconditions",
            after=("1",),
            preconditions=[{"type": "expression", "context": {"expression": False}}],
        ),
        application="hello",
        rollback={"onFailure": True},
    )
    execution = await orca.finished(await orca.start(config))
    assert execution["status"] == "TERMINAL"
    assert execution["rollback"]["status"] == "SUCCEEDED"
    assert twin.kinds()[-1] == "rollbackServerGroup"
    assert twin.enabled() == ["hello-v001"]


async def test_an_unknown_strategy_fails_the_stage_naming_it(system: tuple[Orca, ClouddriverTwin]) -> None:
    orca, twin = system
    execution = await orca.finished(await orca.start(deploy("1", "blue-green-ish")))
    assert execution["status"] == "TERMINAL"
    create = next(s for s in execution["stages"] if s["type"] == "createServerGroup")
    assert "strategy 'blue-green-ish' is not one of" in create["context"]["exception"]["details"]["error"]
    assert twin.operations == []
