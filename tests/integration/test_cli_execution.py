"""``gennaker pipeline execute`` and ``gennaker execution …`` against the whole in-process system."""

from __future__ import annotations

from typing import Any

from gennaker.commands.execution import stage_reason
from schemas.json_types import Json
from tests.integration.gate.conftest import System, eventually
from tests.integration.gate.flows import create_application
from tests.integration.test_cli_spin import (  # the fixtures are shared with the spin-like commands' tests
    Cli,
    cells,
    gennaker,  # noqa: F401
    quiet,  # noqa: F401
    system,  # noqa: F401
)

FAST = ("--poll-interval", "0.05")


def stage(ref_id: str, type: str = "wait", *, after: tuple[str, ...] = (), **context: Any) -> Json:
    if type == "wait":
        context.setdefault("waitTime", 0)
    return {"refId": ref_id, "type": type, "name": f"{type} {ref_id}", "requisiteStageRefIds": list(after), **context}


async def save(system: System, name: str, *stages: Json, **fields: Any) -> None:
    pipeline = {"application": "shop", "name": name, "stages": list(stages), **fields}
    response = await system.client.post("/pipelines", json=pipeline)
    assert response.status == 200, await response.text()


async def execution_of(system: System, execution_id: str) -> Json:
    execution: Json = await (await system.client.get(f"/pipelines/{execution_id}")).json()
    return execution


async def test_execute_and_follow_to_success(system: System, gennaker: Cli) -> None:
    await create_application(system.client, "shop")
    variables = stage("2", "evaluateVariables", after=("1",), variables=[{"key": "env", "value": "${parameters.env}"}])
    await save(system, "deploy to prod", stage("1"), variables, parameterConfig=[{"name": "env", "required": True}])

    followed = await gennaker(
        "pipeline", "execute", "shop", "deploy to prod", "--parameter", "env=prod", "--follow", *FAST
    )
    assert followed.status == 0, followed.err
    lines = followed.out.splitlines()
    assert lines[0].startswith("pipeline 'deploy to prod' of shop started: execution ")
    assert "stage 1 'wait 1' (wait): SUCCEEDED" in followed.out
    assert "stage 2 'evaluateVariables 2' (evaluateVariables): SUCCEEDED" in followed.out
    assert lines[-1].endswith("SUCCEEDED")
    execution_id = lines[0].rsplit(" ", 1)[-1]
    assert (await execution_of(system, execution_id))["trigger"]["parameters"] == {"env": "prod"}

    missing = await gennaker("pipeline", "execute", "shop", "deploy to prod")
    assert missing.status == 2
    assert "'env'" in missing.err
    bad = await gennaker("pipeline", "execute", "shop", "deploy to prod", "--parameter", "env")
    assert bad.status == 2

    listed = await gennaker("execution", "list", "--application", "shop")
    assert listed.status == 0, listed.err
    rows = cells(listed.out)
    assert rows[0] == ["ID", "PIPELINE", "STATUS", "TRIGGER", "STARTED (UTC)", "DURATION", "BY"]
    assert rows[1][:5] == [execution_id, "deploy to prod", "SUCCEEDED", "manual", rows[1][4]]
    as_json = (await gennaker("execution", "list", "-a", "shop", "--statuses", "RUNNING", "-o", "json")).json()
    assert as_json == []

    shown = await gennaker("execution", "get", execution_id)
    assert shown.status == 0, shown.err
    assert ["status", "SUCCEEDED"] in cells(shown.out)
    assert (await gennaker("execution", "get", execution_id, "-o", "json")).json()["id"] == execution_id
    assert (await gennaker("execution", "get", "nope")).status == 2


async def test_a_failed_execution_exits_1(system: System, gennaker: Cli) -> None:
    await create_application(system.client, "shop")
    never = [{"type": "expression", "context": {"expression": False}}]
    await save(system, "checked", stage("1", "checkPreconditions", preconditions=never))
    followed = await gennaker("pipeline", "execute", "shop", "checked", "--follow", *FAST)
    assert followed.status == 1
    lines = followed.out.splitlines()
    assert lines[-1].endswith("TERMINAL")
    execution_id = lines[0].rsplit(" ", 1)[-1]
    reason = stage_reason(next(s for s in (await execution_of(system, execution_id))["stages"] if s["refId"] == "1"))
    assert reason, "Orca gave the failed stage no reason"
    assert f"  stage 1 'checkPreconditions 1' failed: {reason}" in lines, followed.out
    shown = await gennaker("execution", "get", execution_id)
    assert f"stage 1 'checkPreconditions 1' failed: {reason}" in shown.out.splitlines(), shown.out


async def test_judge_pause_resume_cancel(system: System, gennaker: Cli) -> None:
    await create_application(system.client, "shop")
    await save(system, "gated", stage("1", "manualJudgment"), stage("2", after=("1",), waitTime=600))
    started = await gennaker("pipeline", "execute", "shop", "gated", "-o", "json")
    assert started.status == 0, started.err
    execution_id = started.json()["ref"].rsplit("/", 1)[-1]

    def stage_status(ref_id: str, status: str) -> Any:
        return lambda ex: next(s for s in ex["stages"] if s["refId"] == ref_id)["status"] == status

    execution = await eventually(lambda: execution_of(system, execution_id), stage_status("1", "RUNNING"))
    stage_id = next(s for s in execution["stages"] if s["refId"] == "1")["id"]
    waiting = await gennaker("execution", "get", execution_id)
    assert (
        f"stage 1 'manualJudgment 1' is waiting for a judgment; answer it with: "
        f"gennaker execution judge {execution_id} {stage_id} --continue|--stop" in waiting.out.splitlines()
    ), waiting.out
    judged = await gennaker("execution", "judge", execution_id, stage_id, "--continue", "--input", "ship")
    assert judged.status == 0, judged.err
    again = await gennaker("execution", "judge", execution_id, stage_id, "--stop")
    assert again.status == 2, again.out
    assert "(409): stage 1 'manualJudgment 1' was already judged 'continue' by anonymous" in again.err, again.err
    await eventually(lambda: execution_of(system, execution_id), stage_status("2", "RUNNING"))

    assert (await gennaker("execution", "pause", execution_id)).status == 0
    await eventually(lambda: execution_of(system, execution_id), lambda ex: ex["status"] == "PAUSED")
    assert (await gennaker("execution", "resume", execution_id)).status == 0
    await eventually(lambda: execution_of(system, execution_id), lambda ex: ex["status"] == "RUNNING")
    canceled = await gennaker("execution", "cancel", execution_id, "--reason", "not today")
    assert canceled.status == 0, canceled.err
    assert canceled.out.strip() == f"execution {execution_id}: canceled"
    final: Json = await execution_of(system, execution_id)
    assert (final["status"], final["cancellationReason"]) == ("CANCELED", "not today")
    again = await gennaker("execution", "cancel", execution_id)
    assert again.status == 2, again.out
    assert "(409): execution " in again.err and "has already finished (CANCELED by anonymous)" in again.err, again.err
    assert next(s for s in final["stages"] if s["refId"] == "1")["context"]["judgmentInput"] == "ship"
