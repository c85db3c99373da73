"""Fiat's rules through Gate's routes: unreadable applications never leak, writes need WRITE."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from tests.integration.gate.conftest import System, as_user
from tests.integration.gate.flows import create_application, exported_pipeline, run_task

RESTRICTED = {"READ": ["ops"], "WRITE": ["ops"]}


async def _seed(secured: System) -> dict[str, Any]:
    admin = as_user("admin")
    await create_application(secured.client, "secret", headers=admin, permissions=RESTRICTED)
    await create_application(secured.client, "open", headers=admin)
    saved = await secured.client.post("/pipelines", json=exported_pipeline("secret"), headers=admin)
    assert saved.status == 200, await saved.text()
    pipeline: dict[str, Any] = await saved.json()
    return pipeline


async def test_an_unreadable_application_never_leaks(secured: System) -> None:
    pipeline = await _seed(secured)
    client, outsider = secured.client, as_user("outsider")

    assert [app["name"] for app in await (await client.get("/applications", headers=outsider)).json()] == ["open"]
    assert await (await client.get("/pipelineConfigs", headers=outsider)).json() == []
    by_application = "Access denied to application secret - required authorization: READ"
    by_id = f"Access denied to pipeline config {pipeline['id']} - required authorization: READ"
    for path, message in (
        ("/applications/secret", by_application),
        ("/applications/secret/history", by_application),
        ("/applications/secret/pipelineConfigs", by_application),
        ("/applications/secret/pipelineConfigs/deploy to prod", by_application),
        ("/applications/secret/tasks", by_application),
        (f"/pipelineConfigs/{pipeline['id']}/history", by_id),
    ):
        response = await client.get(path, headers=outsider)
        assert response.status == 403, path
        body = await response.json()
        assert body["message"] == message, path
        assert "deploy to prod" not in await response.text()

    ops = as_user("ops")
    assert sorted(app["name"] for app in await (await client.get("/applications", headers=ops)).json()) == [
        "open",
        "secret",
    ]
    assert (await client.get("/applications/secret", headers=ops)).status == 200


async def test_writes_need_write(secured: System) -> None:
    await _seed(secured)
    client, dev = secured.client, as_user("dev")

    refused = await client.post("/pipelines", json=exported_pipeline("secret", "mine"), headers=dev)
    assert refused.status == 403
    assert (await refused.json())["message"].endswith("required authorization: WRITE")
    assert (await client.delete("/pipelines/secret/deploy to prod", headers=dev)).status == 403
    move = {"application": "secret", "from": "deploy to prod", "to": "x"}
    assert (await client.post("/pipelines/move", json=move, headers=dev)).status == 403
    delete = {"application": "secret", "job": [{"type": "deleteApplication", "application": {"name": "secret"}}]}
    assert (await client.post("/tasks", json=delete, headers=dev)).status == 403
    assert (await client.get("/applications/secret", headers=as_user("admin"))).status == 200

    mine = await run_task(
        client,
        {
            "application": "devapp",
            "job": [{"type": "createApplication", "application": {"name": "devapp", "email": "d@e.com"}}],
        },
        headers=dev,
    )
    assert mine["status"] == "SUCCEEDED"
    assert {"key": "user", "value": "dev"} in mine["variables"]
    assert (await client.post("/pipelines", json=exported_pipeline("devapp"), headers=dev)).status == 200


async def test_tasks_of_unreadable_applications_are_hidden(secured: System) -> None:
    admin = as_user("admin")
    task = await create_application(secured.client, "secret", headers=admin, permissions=RESTRICTED)
    response = await secured.client.get(f"/tasks/{task['id']}", headers=as_user("outsider"))
    assert response.status == 403
    assert (await secured.client.put(f"/tasks/{task['id']}/cancel", headers=as_user("outsider"))).status == 403


async def test_credentials_are_filtered_by_account_permissions(secured: System) -> None:
    client = secured.client
    names = [account["name"] for account in await (await client.get("/credentials", headers=as_user("dev"))).json()]
    assert names == ["staging"]
    assert (await client.get("/credentials/prod", headers=as_user("dev"))).status == 403
    ops = await (await client.get("/credentials", headers=as_user("ops"))).json()
    assert [account["name"] for account in ops] == ["prod", "staging"]
    prod = await (await client.get("/credentials/prod", headers=as_user("ops"))).json()
    assert prod["type"] == "aws" and prod["cloudProvider"] == "aws"
    assert (await client.get("/credentials/nope", headers=as_user("ops"))).status == 404


async def test_anonymous_callers_are_refused(secured: System) -> None:
    assert (await secured.client.get("/applications")).status == 401


def _applications_asked() -> float:
    sample = {"kind": "query", "type": "front50.GetApplication"}
    return REGISTRY.get_sample_value("gennaker_messages_sent_total", sample) or 0.0


async def test_permissions_are_remembered_only_until_front50_changes_them(secured: System) -> None:
    client, admin, ops, dev = secured.client, as_user("admin"), as_user("ops"), as_user("dev")
    await create_application(client, "ledger", headers=admin, permissions=RESTRICTED)
    path = "/applications/ledger/pipelineConfigs"
    assert (await client.get(path, headers=ops)).status == 200
    asked = _applications_asked()
    for caller in (ops, ops, dev):
        assert (await client.get(path, headers=caller)).status == (200 if caller is ops else 403)
    assert _applications_asked() == asked  # judged by the application fetched for the first read

    granted = {"name": "ledger", "email": "l@example.com", "permissions": {"READ": ["dev"], "WRITE": ["dev"]}}
    update = {"application": "ledger", "job": [{"type": "updateApplication", "application": granted}]}
    assert (await run_task(client, update, headers=admin))["status"] == "SUCCEEDED"
    assert (await client.get(path, headers=ops)).status == 403
    assert (await client.get(path, headers=dev)).status == 200

    delete = {"application": "ledger", "job": [{"type": "deleteApplication", "application": {"name": "ledger"}}]}
    assert (await run_task(client, delete, headers=dev))["status"] == "SUCCEEDED"
    assert (await client.get(path, headers=dev)).status == 404
