"""The gateway answers an unchanged pipeline list without asking Front50 again, yet never from before a change.

Front50 announces every change with an event; the gateway's result subscription hears them all,
so a held list is current until one arrives (:mod:`gateway.held_replies`). These tests hold what a
client sees: its own save in its next read, another writer's save once its event is in, the caller
judged on every read, and a change Front50 did not announce (written to the store behind its back,
as a command that failed part-way leaves it) served until an event or the backstop says otherwise.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.command_results import RESULTS
from schemas.front50 import SavePipeline
from tests.authorities import ADMIN
from tests.integration.gate.conftest import System, as_user, eventually
from tests.integration.gate.flows import create_application, exported_pipeline

LIST = "/applications/shop/pipelineConfigs"


async def names(system: System, *, headers: dict[str, str] | None = None) -> list[str]:
    response = await system.client.get(LIST, headers=headers)
    assert response.status == 200, await response.text()
    return [pipeline["name"] for pipeline in await response.json()]


async def change_behind_front50s_back(system: System, name: str, description: str) -> None:
    """Rewrite a stored pipeline and move the store's revision, as Front50 would, but with no event."""
    pipelines = system.db["front50_pipelines"]
    stored: dict[str, Any] | None = await pipelines.find_one({"nameKey": name})
    assert stored is not None
    body = {**json.loads(stored["body"]), "description": description}
    await pipelines.update_one({"_id": stored["_id"]}, {"$set": {"body": json.dumps(body)}})
    await system.db["front50_revision"].update_one({"_id": "front50"}, {"$inc": {"n": 1}}, upsert=True)


async def descriptions(system: System) -> dict[str, str]:
    response = await system.client.get(LIST)
    assert response.status == 200, await response.text()
    return {pipeline["name"]: pipeline.get("description", "") for pipeline in await response.json()}


async def test_every_read_after_a_save_through_the_gateway_lists_it(system: System) -> None:
    await create_application(system.client, "shop")
    assert await names(system) == []
    for number in range(8):
        saved = await system.client.post("/pipelines", json=exported_pipeline("shop", f"deploy-{number}"))
        assert saved.status == 200, await saved.text()
        assert await names(system) == [f"deploy-{n}" for n in range(number + 1)]
        assert await names(system) == [f"deploy-{n}" for n in range(number + 1)]


async def test_a_save_by_another_writer_is_listed_once_its_event_arrives(system: System) -> None:
    await create_application(system.client, "shop")
    assert await names(system) == []
    await system.bus.send(SavePipeline(pipeline=exported_pipeline("shop", "from-orca"), authority=ADMIN))
    assert await eventually(lambda: names(system), lambda listed: listed == ["from-orca"], timeout=2.0)


async def test_an_unannounced_change_waits_for_the_next_event_or_the_backstop(system: System) -> None:
    await create_application(system.client, "shop")
    assert (await system.client.post("/pipelines", json=exported_pipeline("shop", "a"))).status == 200
    assert (await descriptions(system))["a"] != "changed"
    await change_behind_front50s_back(system, "a", "changed")
    # Front50 would answer "changed" (its revision moved), so this answer did not come from asking it
    assert (await descriptions(system))["a"] != "changed"

    assert (await system.client.post("/pipelines", json=exported_pipeline("shop", "b"))).status == 200
    assert await descriptions(system) == {"a": "changed", "b": exported_pipeline("shop", "b")["description"]}

    system.app[RESULTS].SEEN_SECONDS = 0.3
    await change_behind_front50s_back(system, "b", "changed too")
    assert (await descriptions(system))["b"] != "changed too"
    assert await eventually(lambda: descriptions(system), lambda seen: seen["b"] == "changed too", timeout=2.0), (
        "the backstop did not end the held list"
    )


async def test_every_read_of_a_held_list_judges_its_caller(secured: System) -> None:
    client = secured.client
    permissions = {"READ": ["ops"], "WRITE": ["ops"]}
    await create_application(client, "shop", headers=as_user("admin"), permissions=permissions)
    saved = await client.post("/pipelines", json=exported_pipeline("shop", "guarded"), headers=as_user("ops"))
    assert saved.status == 200, await saved.text()
    for _ in range(3):
        assert await names(secured, headers=as_user("ops")) == ["guarded"]
        assert (await client.get(LIST, headers=as_user("outsider"))).status == 403
        assert (await client.get(LIST, headers=as_user("dev"))).status == 403
        assert (await client.get(LIST)).status == 401


async def test_reading_a_finished_task_makes_the_next_read_ask_front50(system: System) -> None:
    # Orca marks a task finished once Front50's event reached Orca; this gateway may take that event later,
    # so a client that saw the task finish asks Front50 on its next read
    task = await create_application(system.client, "shop")
    assert (await system.client.post("/pipelines", json=exported_pipeline("shop", "a"))).status == 200
    assert (await descriptions(system))["a"] != "changed"
    await change_behind_front50s_back(system, "a", "changed")
    assert (await descriptions(system))["a"] != "changed"

    read = await system.client.get(f"/tasks/{task['id']}")
    assert read.status == 200 and (await read.json())["status"] == "SUCCEEDED"
    assert (await descriptions(system))["a"] == "changed"


async def test_the_application_list_is_held_and_current_alike(system: System) -> None:
    await create_application(system.client, "shop", description="first")

    async def described() -> dict[str, str]:
        response = await system.client.get("/applications")
        assert response.status == 200, await response.text()
        return {app["name"].lower(): app.get("description", "") for app in await response.json()}

    assert (await described())["shop"] == "first"
    applications = system.db["front50_applications"]
    stored: dict[str, Any] | None = await applications.find_one({"nameKey": "shop"})
    assert stored is not None
    body = {**json.loads(stored["body"]), "description": "second"}
    await applications.update_one({"_id": stored["_id"]}, {"$set": {"body": json.dumps(body)}})
    await system.db["front50_revision"].update_one({"_id": "front50"}, {"$inc": {"n": 1}}, upsert=True)
    assert (await described())["shop"] == "first"

    await create_application(system.client, "other")
    assert await described() == {"shop": "second", "other": ""}
