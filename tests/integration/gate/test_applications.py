"""A newcomer creates an application through a task and finds it everywhere Deck looks."""

from __future__ import annotations

from schemas.json_types import Json
from tests.integration.gate.conftest import Client, System, eventually
from tests.integration.gate.flows import create_application, create_application_task, run_task


async def test_create_application_task_then_list_it(client: Client) -> None:
    task = await create_application(client, "shop", description="The shop")

    assert task["name"] == "Create Application: shop"
    assert task["application"] == "shop"
    assert [step["status"] for step in task["steps"]] == ["SUCCEEDED"]
    assert task["startTime"] <= task["endTime"]
    assert {"key": "user", "value": "anonymous"} in task["variables"]

    listed = await (await client.get("/applications")).json()
    assert [app["name"] for app in listed] == ["shop"]
    assert listed[0]["email"] == "shop-team@example.com"

    details = await client.get("/applications/shop")
    assert details.status == 200
    body = await details.json()
    assert body["name"] == "shop"
    assert body["clusters"] == {}
    assert body["attributes"]["description"] == "The shop"

    tasks = await (await client.get("/applications/shop/tasks")).json()
    assert [t["id"] for t in tasks] == [task["id"]]
    assert await (await client.get("/applications/shop/tasks?statuses=RUNNING")).json() == []


async def test_update_then_history_then_delete(client: Client) -> None:
    await create_application(client, "billing")
    update = {
        "application": "billing",
        "job": [{"type": "updateApplication", "application": {"name": "billing", "email": "new@example.com"}}],
    }
    assert (await run_task(client, update))["status"] == "SUCCEEDED"
    assert (await (await client.get("/applications/billing")).json())["attributes"]["email"] == "new@example.com"

    history = await client.get("/applications/billing/history")
    assert history.status == 200
    assert len(await history.json()) >= 1

    delete = {"application": "billing", "job": [{"type": "deleteApplication", "application": {"name": "billing"}}]}
    assert (await run_task(client, delete))["status"] == "SUCCEEDED"
    missing = await client.get("/applications/billing")
    assert missing.status == 404
    error = await missing.json()
    assert error["message"] == "Application not found (id: billing)"
    assert error["status"] == 404 and error["error"] == "Not Found" and isinstance(error["timestamp"], int)


async def test_application_task_route_and_list_filters(client: Client) -> None:
    response = await client.post(
        "/applications/cart/tasks",
        json={
            "job": [
                {
                    "type": "createApplication",
                    "application": {"name": "cart", "email": "c@example.com", "accounts": "prod,staging"},
                }
            ]
        },
    )
    assert response.status == 200
    ref = (await response.json())["ref"]
    await eventually(lambda: _status(client, ref), lambda status: status == "SUCCEEDED")
    await create_application(client, "other")

    by_account = await (await client.get("/applications?account=STAGING")).json()
    assert [app["name"] for app in by_account] == ["cart"]
    by_owner = await (await client.get("/applications?owner=other-team@example.com")).json()
    assert [app["name"] for app in by_owner] == ["other"]


async def _status(client: Client, ref: str) -> str:
    return str((await (await client.get(ref)).json())["status"])


async def test_a_rejected_job_makes_the_task_terminal_with_orca_exception(client: Client) -> None:
    bad = create_application_task("bad name with spaces")
    task = await run_task(client, bad)

    assert task["status"] == "TERMINAL"
    assert task["steps"][0]["status"] == "TERMINAL"
    variables = {variable["key"]: variable["value"] for variable in task["variables"]}
    details = variables["exception"]["details"]
    assert details["errors"] and "status 400" in details["error"]


async def test_an_unknown_job_type_fails_the_task_naming_it(client: Client) -> None:
    task = await run_task(client, {"application": "x", "job": [{"type": "launchRocket"}]})
    variables = {variable["key"]: variable["value"] for variable in task["variables"]}
    assert task["status"] == "TERMINAL"
    assert variables["exception"]["details"]["field"] == "job[0].type"


async def test_deleting_a_missing_application_is_terminal(client: Client) -> None:
    task = await run_task(
        client, {"application": "ghost", "job": [{"type": "deleteApplication", "application": "ghost"}]}
    )
    assert task["status"] == "TERMINAL"


async def test_task_errors(client: Client) -> None:
    assert (await client.get("/tasks/nope")).status == 404
    assert (await client.put("/tasks/nope/cancel")).status == 404
    no_app = await client.post("/tasks", json={"job": [{"type": "createApplication"}]})
    assert no_app.status == 400
    assert (await no_app.json())["field"] == "application"
    no_jobs = await client.post("/tasks", json={"application": "a", "job": []})
    assert no_jobs.status == 400
    assert (await no_jobs.json())["field"] == "job"
    assert (await client.get("/applications/nope/tasks")).status == 404
    assert (await client.get("/applications/nope/history")).status == 404


async def test_cancel_a_finished_task_leaves_it(client: Client) -> None:
    task = await create_application(client, "done")
    response = await client.put(f"/tasks/{task['id']}/cancel")
    assert response.status == 200
    assert (await response.json())["ref"] == f"/tasks/{task['id']}"
    assert (await (await client.get(f"/tasks/{task['id']}")).json())["status"] == "SUCCEEDED"


async def test_version(system: System) -> None:
    response = await system.client.get("/version")
    assert response.status == 200
    assert await response.json() == {"version": "9.9.9"}


async def test_a_blank_application_name_is_not_found_on_every_route(client: Client) -> None:
    for path in ("/applications/%0C", "/applications/%20/pipelines", "/applications/%09/executions/search"):
        response = await client.get(path)
        assert response.status == 404, (path, await response.text())
        assert (await response.json())["message"].startswith("Application not found")


async def test_application_stages_of_a_pipeline_finish_and_change_the_applications(client: Client) -> None:
    await create_application(client, "shop")
    await create_application(client, "legacy")
    stages = [
        {"refId": "1", "type": "updateApplication", "application": {"name": "shop", "email": "ops@example.com"}},
        {"refId": "2", "type": "createApplication", "application": {"name": "cart", "email": "cart@example.com"}},
        {"refId": "3", "type": "deleteApplication", "application": {"name": "legacy"}, "requisiteStageRefIds": ["1"]},
    ]
    response = await client.post("/pipelines/start", json={"application": "shop", "name": "tidy", "stages": stages})
    assert response.status == 202, await response.text()
    ref = (await response.json())["ref"]

    async def read() -> Json:
        execution: Json = await (await client.get(ref)).json()
        return execution

    execution: Json = await eventually(read, lambda ex: ex["status"] not in ("NOT_STARTED", "RUNNING"), timeout=5.0)
    assert execution["status"] == "SUCCEEDED", execution
    assert {stage["refId"]: stage["status"] for stage in execution["stages"]} == dict.fromkeys("123", "SUCCEEDED")
    assert (await (await client.get("/applications/shop")).json())["attributes"]["email"] == "ops@example.com"
    assert (await (await client.get("/applications/cart")).json())["attributes"]["email"] == "cart@example.com"
    assert (await client.get("/applications/legacy")).status == 404
