"""Gate's application notification preferences, stored by Front50."""

from __future__ import annotations

from tests.integration.gate.conftest import Client, System, as_user
from tests.integration.gate.flows import create_application

SLACK = {"slack": [{"type": "slack", "address": "#deploys", "when": ["pipeline.failed"], "level": "application"}]}


async def test_preferences_are_saved_and_read_back(client: Client) -> None:
    await create_application(client, "shop")
    assert await (await client.get("/notifications/application/shop")).json() == {"application": "shop"}
    saved = await client.post("/notifications/application/shop", json=SLACK)
    assert saved.status == 200, await saved.text()
    read = await (await client.get("/notifications/application/shop")).json()
    assert read["slack"] == SLACK["slack"] and read["application"] == "shop"


async def test_a_body_that_is_not_an_object_is_a_400(client: Client) -> None:
    await create_application(client, "shop")
    response = await client.post("/notifications/application/shop", json=["slack"])
    assert response.status == 400
    assert "body" in (await response.json())["message"] or (await response.json()).get("field")


async def test_saving_needs_write_on_the_application(secured: System) -> None:
    client = secured.client
    await create_application(client, "vault", headers=as_user("admin"), permissions={"READ": ["ops"], "WRITE": ["ops"]})
    denied = await client.post("/notifications/application/vault", json=SLACK, headers=as_user("dev"))
    assert denied.status == 403
    allowed = await client.post("/notifications/application/vault", json=SLACK, headers=as_user("ops"))
    assert allowed.status == 200
