"""Authority travels with the work: from the caller, through Orca, to every task, on both buses.

The gateway puts the caller's :class:`~schemas.authority.Authority` (name and roles) in the command;
Orca stores it on the execution and hands it to every ``orca.RunExternalTask`` and child pipeline;
clients see Spinnaker's ``authentication {user, allowedAccounts}`` and never the roles. A command
without an authority is dead-lettered naming the field; one of the old version naming a user runs
as that name with no roles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from ulid import ULID

from bus import Envelope
from schemas.json_types import Json
from schemas.orca_engine import ExecutionCommandRejected, ExecutionStarted, StartExecution
from tests.conftest import AMQP_URL
from tests.security.authority_world import World, authority, headers, running_world

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)]
)
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    vhost = f"authority-travels-{str(ULID()).lower()}"
    work_dir: Path = tmp_path_factory.mktemp("travels")
    async with running_world(request.param, work_dir, amqp_url=AMQP_URL, vhost=vhost) as world:
        await world.create_application("shop", {"READ": ["shop-owners"], "WRITE": ["shop-owners"]})
        await world.create_application("open", None)
        yield world


async def save_pipeline(world: World, name: str, stages: list[Json], persona: str = "admin") -> str:
    body = {"application": "shop", "name": name, "stages": stages}
    response = await world.client.post("/pipelines", json=body, headers=headers(persona))
    assert response.status == 200, await response.text()
    return str((await response.json())["id"])


async def run(world: World, pipeline: str, persona: str) -> str:
    response = await world.client.post(f"/pipelines/shop/{pipeline}", json={}, headers=headers(persona))
    assert response.status == 202, await response.text()
    return str((await response.json())["ref"]).rsplit("/", 1)[1]


async def stored_authority(world: World, execution_id: str) -> Json:
    document = await world.db["orca_executions"].find_one({"_id": execution_id})
    assert document is not None
    return dict(document["authority"])


async def test_every_cloud_task_carries_the_callers_name_and_roles(world: World) -> None:
    stage = {"refId": "1", "type": "findImageFromTags", "credentials": "sandbox", "packageName": "nothing"}
    await save_pipeline(world, "find", [stage])

    execution_id = await run(world, "find", "owner")
    execution = await world.until(lambda: world.get(f"/pipelines/{execution_id}"), lambda e: e["status"] == "TERMINAL")

    journal = await world.db["clouddriver_operations"].find_one({"command.execution_id": execution_id})
    assert journal is not None, "Clouddriver never received the task"
    assert journal["command"]["authority"] == authority("owner").model_dump(mode="json")
    assert await stored_authority(world, execution_id) == authority("owner").model_dump(mode="json")
    # clients see Spinnaker's shape, never the roles
    assert execution["authentication"] == {"user": "owner", "allowedAccounts": ["sandbox"]}
    assert execution["trigger"]["user"] == "owner"
    response = await world.client.get(f"/pipelines/{execution_id}", headers=headers("owner"))
    assert "shop-owners" not in await response.text()


async def test_a_child_pipeline_runs_with_the_parent_executions_authority(world: World) -> None:
    child_id = await save_pipeline(world, "child", [{"refId": "1", "type": "wait", "waitTime": 0}])
    await save_pipeline(
        world, "parent", [{"refId": "1", "type": "pipeline", "application": "shop", "pipeline": child_id}]
    )

    parent_id = await run(world, "parent", "owner")
    parent = await world.until(lambda: world.get(f"/pipelines/{parent_id}"), lambda e: e["status"] == "SUCCEEDED")

    child_execution = parent["stages"][0]["context"]["executionId"]
    assert await stored_authority(world, child_execution) == authority("owner").model_dump(mode="json")
    child = await world.get(f"/pipelines/{child_execution}")
    assert child["authentication"]["user"] == "owner"
    assert child["trigger"]["type"] == "pipeline" and child["trigger"]["parentExecution"]["id"] == parent_id


async def test_a_command_without_an_authority_is_dead_lettered_naming_it(world: World) -> None:
    execution_id = str(ULID())
    data = {"execution_id": execution_id, "pipeline": {"application": "shop", "name": "x", "stages": []}}
    envelope = Envelope(id=str(ULID()), source="/attacker", type=StartExecution.cloudevent_type(), data=data)
    await world.bus.send_envelope(envelope, to="orca")

    letters = await world.until(world.bus.dead_letters, lambda found: any(letter.id == envelope.id for letter in found))
    letter = next(letter for letter in letters if letter.id == envelope.id)
    assert "authority" in letter.reason and "Field required" in letter.reason
    assert await world.db["orca_executions"].find_one({"_id": execution_id}) is None


async def send_old_start(world: World, application: str) -> str:
    """An ``orca.StartExecution`` of version 1, which named its user as ``user: "owner"``."""
    execution_id = str(ULID())
    pipeline = {"application": application, "name": "old", "stages": [{"refId": "1", "type": "wait", "waitTime": 0}]}
    data = {"execution_id": execution_id, "pipeline": pipeline, "user": "owner"}
    old_type = StartExecution.cloudevent_type().replace(".v2", ".v1")
    await world.bus.send_envelope(Envelope(id=str(ULID()), source="/old", type=old_type, data=data), to="orca")
    return execution_id


async def test_an_old_command_naming_a_user_runs_as_that_name_with_no_roles(world: World) -> None:
    execution_id = await send_old_start(world, "open")

    await world.event(ExecutionStarted, lambda event: event["execution_id"] == execution_id)
    stored = await stored_authority(world, execution_id)
    assert (stored["user"], stored["roles"], stored["admin"]) == ("owner", [], False)
    execution = await world.get(f"/pipelines/{execution_id}")
    assert execution["authentication"] == {"user": "owner", "allowedAccounts": []}


async def test_an_old_command_never_holds_more_rights_than_it_proves(world: World) -> None:
    execution_id = await send_old_start(world, "shop")  # owner holds EXECUTE on shop only through a role

    rejected = await world.event(ExecutionCommandRejected, lambda event: event["execution_id"] == execution_id)
    assert (rejected["status"], rejected["reason"]) == (
        403,
        "access denied: user 'owner' lacks EXECUTE permission on application 'shop'",
    )
    assert await world.db["orca_executions"].find_one({"_id": execution_id}) is None
