"""Front50 and Orca judge the commands put straight onto the bus, as the gateway would.

An attacker with access to the bus (or a user of one application) sends Front50's and Orca's
commands with an authority that lacks what they need: each is refused by the service that does
the work (``*.command.rejected``, status 403, naming who lacks what) and changes nothing. Runs on
MemoryBus and on RabbitMQ. Personas are :mod:`tests.security.authority_world`'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from ulid import ULID

from schemas.authority import Authority
from schemas.base import Command
from schemas.front50 import (
    DeleteApplication,
    DeletePipeline,
    GetPipelineConfig,
    PipelineFound,
    SaveApplication,
    SaveNotifications,
    SavePipeline,
    SaveServiceAccount,
)
from schemas.json_types import Json
from schemas.orca import SubmitTask
from schemas.orca_engine import (
    CancelExecution,
    DeleteExecution,
    JudgeStage,
    PauseExecution,
    StartExecution,
)
from tests.conftest import AMQP_URL
from tests.security.authority_world import RIVAL, SHOP, World, authority, running_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

JUDGED = [{"refId": "1", "type": "manualJudgment", "name": "approve"}]
SERVICE_ACCOUNTS = {"shop-bot": ["shop-owners"], "rival-bot": ["rivals"], "view-bot": ["shop-viewers"]}


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)]
)
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    work_dir: Path = tmp_path_factory.mktemp("steering")
    vhost = f"steering-{str(ULID()).lower()}"
    async with running_world(request.param, work_dir, amqp_url=AMQP_URL, vhost=vhost) as world:
        await world.create_application("shop", SHOP)
        await world.create_application("rival", RIVAL)
        for name, member_of in SERVICE_ACCOUNTS.items():
            account = {"name": name, "memberOf": member_of}
            kind, _ = await answer(world, SaveServiceAccount(service_account=account, authority=authority("admin")))
            assert kind == "front50.service_account.saved"
        yield world


async def answer(world: World, command: Command) -> tuple[str, Json]:
    return await world.answer(await world.send(command))


def pipeline(name: str, application: str = "shop", **extra: Any) -> Json:
    return {"application": application, "name": name, "stages": JUDGED, **extra}


async def refused(world: World, command: Command, reason: str) -> None:
    kind, data = await answer(world, command)
    assert kind.endswith(".command.rejected"), (kind, data)
    assert (data["status"], data["reason"]) == (403, reason), data


# --- Front50 ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["viewer", "rival"])
async def test_front50_refuses_pipeline_writes_without_write(world: World, persona: str) -> None:
    name = f"by-{persona}-{ULID()}"
    await refused(
        world,
        SavePipeline(pipeline=pipeline(name), authority=authority(persona)),
        f"access denied: user {persona!r} lacks WRITE permission on application 'shop'",
    )
    found = await world.bus.ask(GetPipelineConfig(application="shop", name=name), timeout=10)
    assert isinstance(found, PipelineFound) and found.pipeline is None


async def test_front50_refuses_moving_another_applications_pipeline_by_its_id(world: World) -> None:
    shop_id = await world.save_pipeline(pipeline(f"target-{ULID()}"))
    hijack = pipeline("mine", application="rival", id=shop_id)
    await refused(
        world,
        SavePipeline(pipeline=hijack, authority=authority("rival")),
        "access denied: user 'rival' lacks WRITE permission on application 'shop'",
    )
    found = await world.bus.ask(GetPipelineConfig(id=shop_id), timeout=10)
    assert isinstance(found, PipelineFound) and found.pipeline is not None
    assert found.pipeline["application"].lower() == "shop"


async def test_front50_refuses_deleting_changing_and_notifying_without_write(world: World) -> None:
    rival = authority("rival")
    denied = "access denied: user 'rival' lacks WRITE permission on application 'shop'"
    await refused(world, DeletePipeline(application="shop", name="anything", authority=rival), denied)
    await refused(world, DeleteApplication(name="shop", authority=rival), denied)
    await refused(world, SaveApplication(application={"name": "shop", "permissions": {}}, authority=rival), denied)
    await refused(world, SaveNotifications(application="shop", notifications={"email": []}, authority=rival), denied)
    shop = await world.get("/applications/shop")
    assert shop["attributes"]["permissions"] == SHOP


async def test_front50_lets_somebody_create_a_new_application_but_not_nobody(world: World) -> None:
    name = f"fresh{str(ULID()).lower()[-8:]}"
    created = {"name": name, "email": "rival@example.com"}
    kind, _ = await answer(world, SaveApplication(application=created, authority=authority("rival")))
    assert kind == "front50.application.saved"
    await refused(
        world,
        SaveApplication(application={**created, "name": f"{name}x"}, authority=Authority.nobody()),
        f"access denied: an anonymous caller may not create application '{name}x'",
    )


async def test_only_an_admin_makes_service_accounts(world: World) -> None:
    await refused(
        world,
        SaveServiceAccount(service_account={"name": "my-admin", "memberOf": ["admins"]}, authority=authority("owner")),
        "access denied: only an admin may create or change service accounts; user 'owner' is not one",
    )


@pytest.mark.parametrize(
    ("persona", "run_as", "reason"),
    [
        ("owner", "shop-bot", None),
        (
            "rival",
            "shop-bot",
            "access denied: user 'rival' may not run pipelines as service account 'shop-bot': it needs every role "
            "the service account is a member of",
        ),
        (
            "owner",
            "rival-bot",
            "access denied: user 'owner' may not run pipelines as service account 'rival-bot': it needs every role "
            "the service account is a member of",
        ),
        (
            "admin",
            "view-bot",
            "access denied: service account 'view-bot' lacks EXECUTE permission on application 'shop', so it cannot "
            "run this pipeline",
        ),
    ],
)
async def test_a_run_as_user_must_be_a_service_account_the_saver_may_use(
    world: World, persona: str, run_as: str, reason: str | None
) -> None:
    application = "rival" if persona == "rival" else "shop"
    trigger = {"type": "webhook", "source": f"s-{ULID()}", "enabled": True, "runAsUser": run_as}
    config = pipeline(f"p-{ULID()}", application, triggers=[trigger])
    command = SavePipeline(pipeline=config, authority=authority(persona))
    if reason is None:
        assert (await answer(world, command))[0] == "front50.pipeline.saved"
        return
    await refused(world, command, reason)


async def test_a_run_as_user_naming_no_service_account_is_a_bad_request(world: World) -> None:
    trigger = {"type": "cron", "cronExpression": "0 0 * * * ?", "enabled": True, "runAsUser": "ghost"}
    config = pipeline("ghostly", triggers=[trigger])
    kind, data = await answer(world, SavePipeline(pipeline=config, authority=authority("owner")))
    assert kind == "front50.command.rejected"
    assert (data["status"], data["field"]) == (400, "triggers[0].runAsUser")


# --- Orca ---------------------------------------------------------------------------------


async def start(world: World, persona: str, *, application: str = "shop") -> tuple[str, str, Json]:
    execution_id = str(ULID())
    config = {**pipeline(f"run-{execution_id}", application), "id": f"config-{execution_id}"}
    kind, data = await answer(
        world, StartExecution(execution_id=execution_id, pipeline=config, authority=authority(persona))
    )
    return execution_id, kind, data


@pytest.mark.parametrize("persona", ["viewer", "rival"])
async def test_orca_refuses_to_start_without_execute(world: World, persona: str) -> None:
    execution_id, kind, data = await start(world, persona)
    assert kind == "orca.command.rejected"
    assert (data["status"], data["reason"]) == (
        403,
        f"access denied: user {persona!r} lacks EXECUTE permission on application 'shop'",
    )
    assert await world.db["orca_executions"].find_one({"_id": execution_id}) is None


@pytest.mark.parametrize("persona", ["viewer", "rival"])
async def test_orca_refuses_a_task_of_pipeline_stages_without_execute(world: World, persona: str) -> None:
    task_id = str(ULID())
    command = SubmitTask(
        task_id=task_id, application="shop", job=[{"type": "wait", "waitTime": 0}], authority=authority(persona)
    )
    await refused(world, command, f"access denied: user {persona!r} lacks EXECUTE permission on application 'shop'")
    assert await world.db["orca_executions"].find_one({"_id": task_id}) is None


async def running(world: World) -> tuple[str, str]:
    execution_id, kind, _ = await start(world, "owner")
    assert kind == "orca.execution.started"
    execution = await world.until(
        lambda: world.execution(execution_id), lambda e: bool(e["stages"]) and e["stages"][0]["status"] == "RUNNING"
    )
    return execution_id, execution["stages"][0]["id"]


@pytest.mark.parametrize("persona", ["viewer", "rival"])
async def test_orca_refuses_to_steer_without_execute(world: World, persona: str) -> None:
    execution_id, stage_id = await running(world)
    denied = f"access denied: user {persona!r} lacks EXECUTE permission on application 'shop'"
    who = authority(persona)
    await refused(world, CancelExecution(execution_id=execution_id, authority=who, reason="mine now"), denied)
    await refused(world, PauseExecution(execution_id=execution_id, authority=who), denied)
    await refused(
        world,
        JudgeStage(execution_id=execution_id, stage_id=stage_id, judgment_status="continue", authority=who),
        denied,
    )
    execution = await world.get(f"/pipelines/{execution_id}")
    assert (execution["status"], execution["stages"][0]["status"]) == ("RUNNING", "RUNNING")
    kind, _ = await answer(world, CancelExecution(execution_id=execution_id, authority=authority("owner")))
    assert kind.startswith("orca.") and not kind.endswith(".command.rejected"), kind
    assert (await world.finished(execution_id))["status"] == "CANCELED"


async def test_orca_refuses_to_delete_without_write(world: World) -> None:
    execution_id, _ = await running(world)
    await answer(world, CancelExecution(execution_id=execution_id, authority=authority("owner")))
    await refused(
        world,
        DeleteExecution(execution_id=execution_id, authority=authority("viewer")),
        "access denied: user 'viewer' lacks WRITE permission on application 'shop'",
    )
    assert await world.db["orca_executions"].find_one({"_id": execution_id}) is not None


async def test_a_pipeline_stage_may_start_only_a_pipeline_its_authority_may_execute(world: World) -> None:
    rival_id = await world.save_pipeline(pipeline("rival-secret", "rival"))
    parent_id = await world.save_pipeline(
        {
            "application": "shop",
            "name": f"starts-rival-{ULID()}",
            "stages": [{"refId": "1", "type": "pipeline", "application": "rival", "pipeline": rival_id}],
        }
    )
    config = await world.get("/applications/shop/pipelineConfigs")
    chosen = next(c for c in config if c["id"] == parent_id)
    execution_id = str(ULID())
    await world.send(StartExecution(execution_id=execution_id, pipeline=chosen, authority=authority("owner")))
    execution = await world.finished(execution_id)
    assert execution["status"] == "TERMINAL", execution
    error = execution["stages"][0]["context"]["exception"]["details"]["error"]
    assert "access denied: user 'owner' lacks EXECUTE permission on application 'rival'" in error, error
    assert "executionId" not in execution["stages"][0]["context"]
    started = [e for e in await world.get("/applications/rival/pipelines?limit=100")]
    assert started == [], "no execution of rival's pipeline may exist"
