"""Gate's /v2/canaryConfig over the real Front50 worker: Kayenta's shapes, validation and permissions."""

from __future__ import annotations

from typing import Any

from tests.integration.gate.conftest import System, as_user
from tests.integration.gate.flows import create_application

RESTRICTED = {"READ": ["dev"], "WRITE": ["ops"], "EXECUTE": ["ops"]}


def canary_config(name: str = "latency", application: str = "shop") -> dict[str, Any]:
    return {
        "name": name,
        "applications": [application],
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": [
            {
                "name": "p99",
                "query": {"type": "prometheus", "metricName": "http_latency_seconds"},
                "groups": ["latency"],
                "analysisConfigurations": {"canary": {"direction": "increase"}},
            }
        ],
        "classifier": {"groupWeights": {"latency": 100}},
        "templates": {},
    }


async def test_create_read_update_delete(system: System) -> None:
    client = system.client
    await create_application(client, "shop")
    created = await client.post("/v2/canaryConfig", json=canary_config())
    assert created.status == 200, await created.text()
    config_id = (await created.json())["canaryConfigId"]

    listed = await (await client.get("/v2/canaryConfig", params={"application": "shop"})).json()
    assert [(c["id"], c["name"], c["applications"]) for c in listed] == [(config_id, "latency", ["shop"])]
    assert isinstance(listed[0]["updatedTimestamp"], int) and listed[0]["updatedTimestampIso"].endswith("Z")

    one = await (await client.get(f"/v2/canaryConfig/{config_id}")).json()
    assert one["metrics"][0]["query"]["metricName"] == "http_latency_seconds" and one["id"] == config_id

    updated = await client.put(f"/v2/canaryConfig/{config_id}", json=canary_config("latency-strict"))
    assert (await updated.json()) == {"canaryConfigId": config_id}
    assert (await (await client.get(f"/v2/canaryConfig/{config_id}")).json())["name"] == "latency-strict"

    deleted = await client.delete(f"/v2/canaryConfig/{config_id}")
    assert deleted.status == 204
    gone = await client.get(f"/v2/canaryConfig/{config_id}")
    assert gone.status == 404
    assert (await gone.json())["message"] == f"Canary config with id '{config_id}' not found"


async def test_an_invalid_config_is_refused_with_a_400_naming_the_field(system: System) -> None:
    client = system.client
    bad = {**canary_config(), "metrics": [{"name": "p99"}, {"name": "p99"}]}
    refused = await client.post("/v2/canaryConfig", json=bad)
    assert refused.status == 400
    body = await refused.json()
    assert body["message"] == "Metric config name must be unique. 'p99' is duplicated."
    assert "metrics[1].name" in str(body)
    no_apps = await client.post("/v2/canaryConfig", json={**canary_config(), "applications": []})
    assert no_apps.status == 400
    assert (await no_apps.json())["message"] == "Canary config must specify at least one application."
    assert await (await client.get("/v2/canaryConfig")).json() == []


async def test_readers_see_writers_change(secured: System) -> None:
    client = secured.client
    await create_application(client, "secret", headers=as_user("admin"), permissions=RESTRICTED)
    refused = await client.post("/v2/canaryConfig", json=canary_config(application="secret"), headers=as_user("dev"))
    assert refused.status == 403
    created = await client.post("/v2/canaryConfig", json=canary_config(application="secret"), headers=as_user("ops"))
    config_id = (await created.json())["canaryConfigId"]

    assert [c["id"] for c in await (await client.get("/v2/canaryConfig", headers=as_user("dev"))).json()] == [config_id]
    assert await (await client.get("/v2/canaryConfig", headers=as_user("outsider"))).json() == []
    hidden = await client.get(f"/v2/canaryConfig/{config_id}", headers=as_user("outsider"))
    assert hidden.status == 404
    denied = await client.delete(f"/v2/canaryConfig/{config_id}", headers=as_user("dev"))
    assert denied.status == 403
