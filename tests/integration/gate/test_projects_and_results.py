"""Project executions, and the gateway's wait for a command's answering event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from gateway.command_results import CommandRejected, CommandResults
from schemas.front50 import SaveProject
from tests.authorities import ADMIN
from tests.integration.gate.conftest import System, start_system
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import config, finished, save, stage, trigger


async def test_project_pipelines_lists_the_executions_of_its_pipelines(system: System) -> None:
    client = system.client
    await create_application(client, "shop")
    deploy = await save(client, config("shop", "deploy", stage("1")))
    await save(client, config("shop", "other", stage("1")))  # not in the project
    result = await CommandResults(system.bus).send(
        SaveProject(
            authority=ADMIN,
            project={
                "name": "storefront",
                "email": "s@example.com",
                "config": {
                    "applications": ["shop"],
                    "pipelineConfigs": [{"application": "shop", "pipelineConfigId": deploy["id"]}],
                },
            },
        )
    )
    assert result.event_type == "front50.project.saved"
    project_id = result.data["project"].get("id") or "storefront"
    assert await (await client.get(f"/projects/{project_id}/pipelines")).json() == []

    first = await finished(client, await trigger(client, "shop", "deploy"))
    second = await finished(client, await trigger(client, "shop", "deploy"))
    await finished(client, await trigger(client, "shop", "other"))
    response = await client.get(f"/projects/{project_id}/pipelines?limit=5")
    assert response.status == 200
    assert [execution["id"] for execution in await response.json()] == [second["id"], first["id"]]
    limited = await (await client.get(f"/projects/{project_id}/pipelines?limit=1")).json()
    assert [execution["id"] for execution in limited] == [second["id"]]
    none_running = await (await client.get(f"/projects/{project_id}/pipelines?statuses=RUNNING")).json()
    assert none_running == []
    assert (await client.get("/projects/nope/pipelines")).status == 404


async def test_a_rejection_carries_status_and_field(system: System) -> None:
    results = CommandResults(system.bus)
    with pytest.raises(CommandRejected) as raised:
        await results.send(SaveProject(authority=ADMIN, project={"email": "no-name@example.com"}))
    assert raised.value.status == 400
    assert raised.value.field
    await results.stop()


@pytest.fixture
async def uninstalled() -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        yield await start_system(stack, install=False)


async def test_writes_work_without_install(uninstalled: System) -> None:
    """Before ``create_app`` calls ``install``, the subscription starts on first use."""
    from tests.integration.gate.flows import create_application, exported_pipeline

    await create_application(uninstalled.client, "shop")
    assert (await uninstalled.client.post("/pipelines", json=exported_pipeline("shop"))).status == 200


@pytest.fixture
async def no_front50() -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        yield await start_system(stack, workers=("orca", "clouddriver"))


async def test_no_answer_is_a_504(no_front50: System, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import command_results

    monkeypatch.setattr(command_results, "QUERY_TIMEOUT", 0.2)
    response = await no_front50.client.get("/applications")
    assert response.status == 504
    body = await response.json()
    assert body["status"] == 504 and "did not answer" in body["message"]
