"""A pipeline exported from Spinnaker is saved, listed, changed, renamed, reordered and deleted through Gate's paths."""

from __future__ import annotations

from typing import Any

from schemas.json_types import Json
from tests.integration.gate.conftest import Client
from tests.integration.gate.flows import create_application, exported_pipeline


async def save(client: Client, pipeline: Json, *, stale_check: bool = False) -> Any:
    return await client.post("/pipelines" + ("?staleCheck=true" if stale_check else ""), json=pipeline)


async def test_save_list_change_and_history(client: Client) -> None:
    await create_application(client, "shop")
    pipeline = exported_pipeline("shop")

    response = await save(client, pipeline)
    assert response.status == 200, await response.text()
    saved = await response.json()
    assert saved["id"] and saved["updateTs"]
    assert saved["stages"] == pipeline["stages"]
    assert saved["triggers"] == pipeline["triggers"]
    assert saved["parameterConfig"] == pipeline["parameterConfig"]
    assert saved["notifications"] == pipeline["notifications"]

    listed = await (await client.get("/applications/shop/pipelineConfigs")).json()
    assert [p["name"] for p in listed] == ["deploy to prod"]
    one = await client.get("/applications/shop/pipelineConfigs/deploy to prod")
    assert one.status == 200
    assert (await one.json())["id"] == saved["id"]
    assert [p["id"] for p in await (await client.get("/pipelineConfigs")).json()] == [saved["id"]]

    changed = {**saved, "stages": [*saved["stages"][:2]], "description": "no deploy yet"}
    response = await save(client, changed, stale_check=True)
    assert response.status == 200, await response.text()
    resaved = await response.json()
    assert resaved["id"] == saved["id"]
    assert resaved["updateTs"] != saved["updateTs"]

    history = await client.get(f"/pipelineConfigs/{saved['id']}/history")
    assert history.status == 200
    versions = await history.json()
    assert [v["description"] for v in versions[:2]] == ["no deploy yet", pipeline["description"]]


async def test_stale_update_is_a_conflict(client: Client) -> None:
    await create_application(client, "shop")
    first = await (await save(client, exported_pipeline("shop"))).json()
    assert (await save(client, {**first, "description": "editor A"}, stale_check=True)).status == 200

    stale = await save(client, {**first, "description": "editor B"}, stale_check=True)
    assert stale.status == 409
    error = await stale.json()
    assert error["status"] == 409 and error["error"] == "Conflict" and error["message"]
    current = await (await client.get("/applications/shop/pipelineConfigs/deploy to prod")).json()
    assert current["description"] == "editor A"


async def test_invalid_pipeline_is_refused_naming_the_field(client: Client) -> None:
    await create_application(client, "shop")
    broken = exported_pipeline("shop")
    broken["stages"][1]["requisiteStageRefIds"] = ["9"]
    response = await save(client, broken)
    assert response.status == 400
    error = await response.json()
    assert error["field"] == "stages[1].requisiteStageRefIds"
    assert error["error"] == "Bad Request" and "9" in error["message"]

    nameless = exported_pipeline("shop")
    del nameless["name"]
    response = await save(client, nameless)
    assert response.status == 400
    assert (await response.json())["field"] == "name"

    assert await (await client.get("/applications/shop/pipelineConfigs")).json() == []


async def test_rename_reorder_delete(client: Client) -> None:
    await create_application(client, "shop")
    first = await (await save(client, exported_pipeline("shop", "alpha"))).json()
    second = await (await save(client, exported_pipeline("shop", "beta"))).json()

    moved = await client.post("/pipelines/move", json={"application": "shop", "from": "alpha", "to": "gamma"})
    assert moved.status == 200, await moved.text()
    names = [p["name"] for p in await (await client.get("/applications/shop/pipelineConfigs")).json()]
    assert sorted(names) == ["beta", "gamma"]
    renamed = await (await client.get("/applications/shop/pipelineConfigs/gamma")).json()
    assert renamed["id"] == first["id"]

    reordered = await client.post(
        "/actions/pipelines/reorder",
        json={"application": "shop", "idsToIndices": {second["id"]: 0, first["id"]: 1}, "isStrategy": False},
    )
    assert reordered.status == 200, await reordered.text()
    order = [p["name"] for p in await (await client.get("/applications/shop/pipelineConfigs")).json()]
    assert order == ["beta", "gamma"]

    deleted = await client.delete("/pipelines/shop/gamma")
    assert deleted.status == 200
    assert [p["name"] for p in await (await client.get("/applications/shop/pipelineConfigs")).json()] == ["beta"]
    assert (await client.delete("/pipelines/shop/gamma")).status == 404


async def test_not_found(client: Client) -> None:
    assert (await save(client, exported_pipeline("nowhere"))).status == 404
    assert (await client.get("/applications/nowhere/pipelineConfigs")).status == 404
    await create_application(client, "shop")
    missing = await client.get("/applications/shop/pipelineConfigs/nope")
    assert missing.status == 404
    assert (await missing.json())["status"] == 404
    assert (await client.get("/pipelineConfigs/nope/history")).status == 404
    assert (await client.delete("/pipelines/shop/nope")).status == 404
    moved = await client.post("/pipelines/move", json={"application": "shop", "from": "nope", "to": "x"})
    assert moved.status == 404
    assert (await moved.json())["field"] == "from"
    assert (await client.get("/projects/nope/pipelines")).status == 404


async def test_a_locked_pipeline_refuses_a_ui_save_until_unlocked(client: Client) -> None:
    await create_application(client, "shop")
    lock = {"ui": True, "allowUnlockUi": True, "description": "Managed by Dinghy: acme/shop/dinghyfile"}
    response = await save(client, {**exported_pipeline("shop"), "locked": lock})
    assert response.status == 200, await response.text()
    locked = await response.json()

    edited = await save(client, {**locked, "description": "edited in Deck"})
    assert edited.status == 409, await edited.text()
    error = await edited.json()
    assert error["field"] == "locked" and "Managed by Dinghy: acme/shop/dinghyfile" in error["message"]
    assert (await client.delete("/pipelines/shop/deploy to prod")).status == 409
    assert (
        await client.post("/pipelines/move", json={"application": "shop", "from": "deploy to prod", "to": "x"})
    ).status == 409
    current = await (await client.get("/applications/shop/pipelineConfigs/deploy to prod")).json()
    assert current == locked

    unlocked = await save(client, {**locked, "locked": {"ui": False, "allowUnlockUi": True}})
    assert unlocked.status == 200, await unlocked.text()
    assert (await save(client, {**await unlocked.json(), "description": "edited in Deck"})).status == 200
