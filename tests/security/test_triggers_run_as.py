"""Automated triggers run as their ``runAsUser``, which must itself be permitted; never as whoever fired them.

Echo's webhooks (an unauthenticated caller of ``/webhooks``) and Orca's pipeline triggers start
pipelines with the trigger's ``runAsUser`` service account (its ``memberOf`` roles, from Front50),
or, without one, as Fiat's ``anonymous`` (unrestricted applications and accounts only, since
authentication is on here). A restricted application's triggers therefore need a service account;
a pipeline trigger never borrows the rights of the execution that fired it. Every execution
records whose authority it runs with. Runs on MemoryBus and on RabbitMQ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from ulid import ULID

from schemas.echo import TriggerFired, WebhookProcessed
from schemas.front50 import DeleteServiceAccount, SaveServiceAccount
from schemas.json_types import Json
from schemas.orca_engine import ExecutionCommandRejected, ExecutionStarted
from tests.conftest import AMQP_URL
from tests.security.authority_world import RIVAL, SHOP, World, authority, headers, running_world
from workers.echo import worker as echo
from workers.echo.triggers import TriggerOptions
from workers.orca.engine.trigger_pipeline import keyed_execution_id

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAIT = [{"refId": "1", "type": "wait", "name": "wait", "waitTime": 0}]


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)]
)
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    work_dir: Path = tmp_path_factory.mktemp("run-as")
    vhost = f"run-as-{str(ULID()).lower()}"
    options = TriggerOptions(refresh_seconds=0.5, instance=f"echo-{vhost}")
    async with running_world(
        request.param,
        work_dir,
        amqp_url=AMQP_URL,
        vhost=vhost,
        extra=lambda resources: [echo.build_service(resources, triggers=options)],
    ) as world:
        await world.create_application("shop", SHOP)
        await world.create_application("rival", RIVAL)
        await world.create_application("open", None)
        for name, roles in {"shop-bot": ["shop-owners"], "rival-bot": ["rivals"], "temp-bot": ["shop-owners"]}.items():
            account = {"name": name, "memberOf": roles}
            await world.answer(
                await world.send(SaveServiceAccount(service_account=account, authority=authority("admin")))
            )
        yield world


async def webhook(world: World, config_id: str, source: str) -> Json:
    """POST the webhook (as anybody may) until Echo knows the config; Echo's verdict on it."""

    async def verdict() -> Json | None:
        response = await world.client.post(f"/webhooks/webhook/{source}", json={"parameters": {}})
        assert response.status == 200, await response.text()
        event_id = (await response.json())["eventId"]
        processed = await world.event(WebhookProcessed, lambda data: data["event_id"] == event_id)
        return processed if config_id in processed["triggered"] or config_id in processed["refused"] else None

    found = await world.until(verdict, lambda processed: processed is not None)
    assert found is not None
    return found


def webhook_pipeline(application: str, source: str, **trigger: Any) -> Json:
    return {
        "application": application,
        "name": f"hooked-{source}",
        "stages": WAIT,
        "triggers": [{"type": "webhook", "source": source, "enabled": True, **trigger}],
    }


async def started_by(world: World, config_id: str) -> Json:
    started = await world.event(ExecutionStarted, lambda event: event["pipeline_config_id"] == config_id)
    return await world.finished(started["execution_id"])


async def test_a_webhook_trigger_runs_as_its_service_account(world: World) -> None:
    source = f"ci-{ULID()}"
    config_id = await world.save_pipeline(webhook_pipeline("shop", source, runAsUser="shop-bot"), persona="owner")
    processed = await webhook(world, config_id, source)
    assert config_id in processed["triggered"], processed

    execution = await started_by(world, config_id)
    assert execution["status"] == "SUCCEEDED"
    assert execution["authentication"]["user"] == "shop-bot"
    assert execution["trigger"]["user"] == "shop-bot"
    stored = await world.db["orca_executions"].find_one({"_id": execution["id"]})
    assert stored is not None
    assert (stored["authority"]["roles"], stored["authority"]["service_account"]) == (["shop-owners"], True)


async def test_without_run_as_user_a_restricted_applications_trigger_runs_as_nobody_in_particular(world: World) -> None:
    source = f"ci-{ULID()}"
    config_id = await world.save_pipeline(webhook_pipeline("shop", source), persona="owner")
    await webhook(world, config_id, source)

    rejected = await world.event(
        ExecutionCommandRejected,
        lambda event: event["reason"].endswith("lacks EXECUTE permission on application 'shop'"),
    )
    assert rejected["status"] == 403
    assert rejected["reason"] == "access denied: user 'anonymous' lacks EXECUTE permission on application 'shop'"
    assert await world.db["orca_executions"].count_documents({"pipelineConfigId": config_id}) == 0


async def test_without_run_as_user_an_open_applications_trigger_runs_as_anonymous(world: World) -> None:
    source = f"ci-{ULID()}"
    config_id = await world.save_pipeline(webhook_pipeline("open", source), persona="rival")
    await webhook(world, config_id, source)
    execution = await started_by(world, config_id)
    assert (execution["status"], execution["authentication"]) == (
        "SUCCEEDED",
        {"user": "anonymous", "allowedAccounts": []},
    )


async def test_a_run_as_user_that_is_no_longer_a_service_account_starts_nothing(world: World) -> None:
    source = f"ci-{ULID()}"
    config_id = await world.save_pipeline(webhook_pipeline("shop", source, runAsUser="temp-bot"), persona="owner")
    await world.answer(await world.send(DeleteServiceAccount(name="temp-bot", authority=authority("admin"))))
    processed = await webhook(world, config_id, source)
    assert processed["refused"][config_id] == (
        "runAsUser 'temp-bot' is not a service account Front50 knows; ask an admin to create it"
    )
    assert await world.db["orca_executions"].count_documents({"pipelineConfigId": config_id}) == 0


async def test_a_docker_push_runs_its_trigger_as_the_service_account_and_an_anonymous_one_not_at_all(
    world: World,
) -> None:
    repository = f"acme/run-as-{str(ULID()).lower()}"

    def pushed(**trigger: Any) -> Json:
        docker = {"type": "docker", "enabled": True, "account": "hub", "repository": repository, **trigger}
        return {"application": "shop", "name": f"pushed-{ULID()}", "stages": WAIT, "triggers": [docker]}

    service = await world.save_pipeline(pushed(runAsUser="shop-bot"), persona="owner")
    nobody = await world.save_pipeline(pushed(), persona="owner")

    async def verdict() -> Json:
        push = {"account": "hub", "repository": repository, "tag": "v1"}
        response = await world.client.post("/webhooks/docker", json=push)  # anybody may send it, as in Spinnaker
        assert response.status == 200, await response.text()
        event_id = (await response.json())["eventId"]
        return await world.event(WebhookProcessed, lambda data: data["event_id"] == event_id)

    processed = await world.until(verdict, lambda found: {service, nobody} <= set(found["triggered"]))
    execution = await started_by(world, service)
    assert (execution["status"], execution["authentication"]["user"]) == ("SUCCEEDED", "shop-bot")
    assert execution["trigger"]["artifacts"][0]["reference"] == f"{repository}:v1"

    fired = await world.event(
        TriggerFired, lambda event: event["pipeline_config_id"] == nobody and event["event_id"] == processed["event_id"]
    )
    rejected = await world.event(
        ExecutionCommandRejected, lambda event: event["execution_id"] == keyed_execution_id(fired["idempotency_key"])
    )
    assert rejected["reason"] == "access denied: user 'anonymous' lacks EXECUTE permission on application 'shop'"
    assert await world.db["orca_executions"].count_documents({"pipelineConfigId": nobody}) == 0


def pipeline_trigger(application: str, fired_by: str, **extra: Any) -> Json:
    trigger = {
        "type": "pipeline",
        "enabled": True,
        "application": "shop",
        "pipeline": fired_by,
        "status": ["successful"],
    }
    return {"application": application, "name": f"after-{ULID()}", "stages": WAIT, "triggers": [{**trigger, **extra}]}


async def test_a_pipeline_trigger_never_runs_with_the_rights_of_the_execution_that_fired_it(world: World) -> None:
    parent_id = await world.save_pipeline({"application": "shop", "name": f"parent-{ULID()}", "stages": WAIT})
    borrowed = await world.save_pipeline(pipeline_trigger("rival", parent_id), persona="rival")
    service = await world.save_pipeline(pipeline_trigger("rival", parent_id, runAsUser="rival-bot"), persona="rival")

    # the admin runs the parent: a trigger without runAsUser must not run with the admin's rights
    response = await world.client.post(f"/pipelines/shop/{parent_id}", json={}, headers=headers("admin"))
    assert response.status == 202, await response.text()

    execution = await started_by(world, service)
    assert (execution["status"], execution["authentication"]["user"]) == ("SUCCEEDED", "rival-bot")
    assert execution["trigger"]["type"] == "pipeline" and execution["trigger"]["user"] == "rival-bot"
    rejected = await world.event(
        ExecutionCommandRejected, lambda event: event["reason"].endswith("on application 'rival'")
    )
    assert rejected["reason"] == "access denied: user 'anonymous' lacks EXECUTE permission on application 'rival'"
    assert await world.db["orca_executions"].count_documents({"pipelineConfigId": borrowed}) == 0


async def test_the_gateway_refuses_saving_a_trigger_that_runs_as_a_service_account_you_may_not_use(
    world: World,
) -> None:
    body = webhook_pipeline("rival", f"ci-{ULID()}", runAsUser="shop-bot")
    response = await world.client.post("/pipelines", json=body, headers=headers("rival"))
    assert response.status == 403, await response.text()
    error = await response.json()
    assert error["message"].startswith(
        "access denied: user 'rival' may not run pipelines as service account 'shop-bot'"
    )
