"""Gate's execution routes against the whole system: trigger, follow, steer, search, authorise."""

from __future__ import annotations

from typing import Any

from schemas.json_types import Json
from tests.integration.gate.conftest import Client, System, as_user, eventually
from tests.integration.gate.flows import create_application

FINISHED = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED"}
RESTRICTED = {"READ": ["ops"], "WRITE": ["ops"], "EXECUTE": ["ops"]}


def stage(ref_id: str, type: str = "wait", *, after: tuple[str, ...] = (), **context: Any) -> Json:
    if type == "wait":
        context.setdefault("waitTime", 0)
    return {"refId": ref_id, "type": type, "name": f"{type} {ref_id}", "requisiteStageRefIds": list(after), **context}


def config(application: str, name: str, *stages: Json, **fields: Any) -> Json:
    return {"application": application, "name": name, "stages": list(stages), **fields}


async def save(client: Client, pipeline: Json, headers: dict[str, str] | None = None) -> Json:
    response = await client.post("/pipelines", json=pipeline, headers=headers)
    assert response.status == 200, await response.text()
    saved: Json = await response.json()
    return saved


async def trigger(client: Client, application: str, name: str, body: Json | None = None, **kwargs: Any) -> str:
    response = await client.post(f"/pipelines/{application}/{name}", json=body or {}, **kwargs)
    assert response.status == 202, await response.text()
    ref: str = (await response.json())["ref"]
    assert ref.startswith("/pipelines/")
    return ref


async def read(client: Client, ref: str, **kwargs: Any) -> Json:
    response = await client.get(ref, **kwargs)
    assert response.status == 200, await response.text()
    execution: Json = await response.json()
    return execution


async def until(client: Client, ref: str, check: Any, **kwargs: Any) -> Json:
    result: Json = await eventually(lambda: read(client, ref, **kwargs), check)
    return result


async def finished(client: Client, ref: str, **kwargs: Any) -> Json:
    return await until(client, ref, lambda execution: execution["status"] in FINISHED, **kwargs)


def by_ref(execution: Json, ref_id: str) -> Json:
    stage: Json = next(stage for stage in execution["stages"] if stage["refId"] == ref_id)
    return stage


def stage_running(ref_id: str) -> Any:
    return lambda execution: by_ref(execution, ref_id)["status"] == "RUNNING"


VARIABLES = stage("2", "evaluateVariables", after=("1",), variables=[{"key": "env", "value": "${parameters.env}"}])
PARAMETERS = [
    {"name": "env", "default": "staging", "hasOptions": True, "options": [{"value": "staging"}, {"value": "prod"}]},
    {"name": "ticket", "required": True},
]


async def test_trigger_runs_the_pipeline_with_parameter_defaults(client: Client) -> None:
    await create_application(client, "shop")
    await save(client, config("shop", "deploy", stage("1"), VARIABLES, parameterConfig=PARAMETERS))

    ref = await trigger(client, "shop", "deploy", {"parameters": {"ticket": "T-1"}})
    started = await read(client, ref)  # readable at once
    assert started["application"] == "shop"
    execution = await finished(client, ref)

    assert execution["status"] == "SUCCEEDED", execution
    assert execution["trigger"]["parameters"] == {"env": "staging", "ticket": "T-1"}
    assert execution["trigger"]["type"] == "manual"
    assert execution["trigger"]["user"] == "anonymous"
    assert by_ref(execution, "2")["outputs"]["env"] == "staging"

    answer = await client.get(f"{ref}/evaluateExpression", params={"expression": "${trigger.parameters.ticket}"})
    assert answer.status == 200
    assert (await answer.json())["result"] == "T-1"
    failed = await (await client.get(f"{ref}/evaluateExpression", params={"expression": "${nope.nothing}"})).json()
    assert failed["result"] == "${nope.nothing}"
    assert failed["detail"]


async def test_trigger_by_pipeline_id_and_start_from_json(client: Client) -> None:
    await create_application(client, "shop")
    saved = await save(client, config("shop", "deploy", stage("1")))
    by_id = await finished(client, await trigger(client, "shop", saved["id"]))
    assert (by_id["status"], by_id["pipelineConfigId"]) == ("SUCCEEDED", saved["id"])

    response = await client.post("/pipelines/start", json=config("shop", "ad hoc", stage("1")))
    assert response.status == 202, await response.text()
    ad_hoc = await finished(client, (await response.json())["ref"])
    assert (ad_hoc["status"], ad_hoc["name"]) == ("SUCCEEDED", "ad hoc")


async def test_parameters_are_checked_against_the_config(client: Client) -> None:
    await create_application(client, "shop")
    await save(client, config("shop", "deploy", stage("1"), parameterConfig=PARAMETERS))

    missing = await client.post("/pipelines/shop/deploy", json={})
    assert missing.status == 400
    assert (await missing.json())["field"] == "parameters.ticket"
    wrong = await client.post("/pipelines/shop/deploy", json={"parameters": {"ticket": "T", "env": "moon"}})
    assert wrong.status == 400
    body = await wrong.json()
    assert body["field"] == "parameters.env"
    assert "staging" in body["message"]
    assert (await client.get("/applications/shop/pipelines")).status == 200
    assert await (await client.get("/applications/shop/pipelines")).json() == []


async def test_manual_judgment_through_patch(client: Client) -> None:
    await create_application(client, "shop")
    await save(client, config("shop", "gated", stage("1", "manualJudgment"), stage("2", after=("1",))))
    ref = await trigger(client, "shop", "gated")
    execution = await until(client, ref, stage_running("1"))
    stage_id = by_ref(execution, "1")["id"]

    unknown = await client.patch(f"{ref}/stages/nope", json={"judgmentStatus": "continue"})
    assert unknown.status == 404
    invalid = await client.patch(f"{ref}/stages/{stage_id}", json={"judgmentStatus": "maybe"})
    assert invalid.status == 400
    judged = await client.patch(f"{ref}/stages/{stage_id}", json={"judgmentStatus": "continue", "judgmentInput": "go"})
    assert judged.status == 200, await judged.text()

    execution = await finished(client, ref)
    assert execution["status"] == "SUCCEEDED"
    assert by_ref(execution, "1")["context"]["judgmentInput"] == "go"
    again = await client.patch(f"{ref}/stages/{stage_id}", json={"judgmentStatus": "stop"})
    assert again.status == 409, await again.text()
    assert "was already judged 'continue' by anonymous" in (await again.json())["message"]


async def test_skip_remaining_wait_through_patch(client: Client) -> None:
    await create_application(client, "shop")
    await save(client, config("shop", "slow", stage("1", waitTime=600)))
    ref = await trigger(client, "shop", "slow")
    stage_id = by_ref(await until(client, ref, stage_running("1")), "1")["id"]
    assert (await client.patch(f"{ref}/stages/{stage_id}", json={"skipRemainingWait": True})).status == 200
    assert (await finished(client, ref))["status"] == "SUCCEEDED"


async def test_cancel_pause_resume_and_delete(client: Client) -> None:
    await create_application(client, "shop")
    await save(client, config("shop", "slow", stage("1", waitTime=600)))
    ref = await trigger(client, "shop", "slow")
    await until(client, ref, stage_running("1"))

    assert (await client.put(f"{ref}/pause")).status == 202
    paused = await until(client, ref, lambda execution: execution["status"] == "PAUSED")
    assert paused["paused"]["pausedBy"] == "anonymous"
    refused = await client.delete(ref)
    assert refused.status == 400, await refused.text()
    assert (await client.put(f"{ref}/resume")).status == 202
    await until(client, ref, lambda execution: execution["status"] == "RUNNING")

    assert (await client.put(f"{ref}/cancel", params={"reason": "wrong build"})).status == 202
    canceled = await finished(client, ref)
    assert canceled["status"] == "CANCELED"
    assert (canceled["canceledBy"], canceled["cancellationReason"]) == ("anonymous", "wrong build")
    again = await client.put(f"{ref}/cancel")
    assert again.status == 409, await again.text()
    assert "has already finished (CANCELED by anonymous)" in (await again.json())["message"]

    deleted = await client.delete(ref)
    assert deleted.status == 200, await deleted.text()
    assert (await client.get(ref)).status == 404


async def test_restart_a_failed_stage(client: Client) -> None:
    await create_application(client, "shop")
    never = [{"type": "expression", "context": {"expression": "${1 == 2}"}}]
    await save(client, config("shop", "checked", stage("1", "checkPreconditions", preconditions=never)))
    ref = await trigger(client, "shop", "checked")
    failed = await finished(client, ref)
    assert failed["status"] == "TERMINAL"
    stage_id = by_ref(failed, "1")["id"]

    assert (await client.put(f"{ref}/stages/nope/restart")).status == 404
    assert (await client.put(f"{ref}/stages/{stage_id}/restart")).status == 200
    again = await until(client, ref, lambda execution: "restartDetails" in by_ref(execution, "1")["context"])
    assert by_ref(again, "1")["context"]["restartDetails"]["restartedBy"] == "anonymous"
    assert (await finished(client, ref))["status"] == "TERMINAL"


async def test_lists_and_filters(client: Client) -> None:
    await create_application(client, "shop")
    fast = await save(client, config("shop", "fast", stage("1")))
    await save(client, config("shop", "slow", stage("1", waitTime=600)))
    done = await finished(client, await trigger(client, "shop", "fast"))
    hooked = {"type": "webhook", "eventId": "delivery-7"}
    slow = await until(client, await trigger(client, "shop", "slow", hooked), stage_running("1"))

    listed = await (await client.get("/applications/shop/pipelines", params={"limit": "5"})).json()
    assert [execution["id"] for execution in listed] == [slow["id"], done["id"]]
    running = await (await client.get("/applications/shop/pipelines", params={"statuses": "RUNNING"})).json()
    assert [execution["id"] for execution in running] == [slow["id"]]
    condensed = await (await client.get("/applications/shop/pipelines", params={"expand": "false"})).json()
    assert "context" not in condensed[0]["stages"][0]

    by_config = await (await client.get("/executions", params={"pipelineConfigIds": fast["id"]})).json()
    assert [execution["id"] for execution in by_config] == [done["id"]]
    assert (await client.get("/executions")).status == 400

    search = "/applications/shop/executions/search"
    webhooks = await (await client.get(search, params={"triggerTypes": "webhook", "expand": "true"})).json()
    assert [execution["id"] for execution in webhooks] == [slow["id"]]
    delivered = await (await client.get(search, params={"eventId": "delivery-7"})).json()
    assert [execution["id"] for execution in delivered] == [slow["id"]]
    assert await (await client.get(search, params={"eventId": "delivery-8"})).json() == []
    too_long = await client.get(search, params={"eventId": "x" * 257})
    assert too_long.status == 400 and "eventId" in await too_long.text()
    named = await (await client.get(search, params={"pipelineName": "fast"})).json()
    assert [execution["id"] for execution in named] == [done["id"]]
    later = {"triggerTimeStartBoundary": str(slow["buildTime"])}
    assert [execution["id"] for execution in await (await client.get(search, params=later)).json()] == [slow["id"]]
    oldest = await (await client.get(search, params={"reverse": "true", "size": "1"})).json()
    assert [execution["id"] for execution in oldest] == [done["id"]]
    await client.put(f"/pipelines/{slow['id']}/cancel")


async def test_unknown_things_are_404(client: Client) -> None:
    await create_application(client, "shop")
    assert (await client.get("/pipelines/nope")).status == 404
    assert (await client.put("/pipelines/nope/cancel")).status == 404
    assert (await client.get("/pipelines/nope/evaluateExpression", params={"expression": "1"})).status == 404
    assert (await client.post("/pipelines/shop/nope", json={})).status == 404
    assert (await client.post("/pipelines/ghost/deploy", json={})).status == 404


async def test_running_and_steering_need_execute(secured: System) -> None:
    client = secured.client
    admin, ops, dev = as_user("admin"), as_user("ops"), as_user("dev")
    await create_application(client, "secret", headers=admin, permissions=RESTRICTED)
    await save(client, config("secret", "slow", stage("1", waitTime=600)), headers=admin)

    assert (await client.post("/pipelines/secret/slow", json={}, headers=dev)).status == 403
    ref = await trigger(client, "secret", "slow", headers=ops)
    assert (await read(client, ref, headers=ops))["trigger"]["user"] == "ops"
    assert (await client.get(ref, headers=dev)).status == 403
    assert (await client.get("/applications/secret/pipelines", headers=dev)).status == 403
    assert (await client.put(f"{ref}/cancel", headers=dev)).status == 403
    assert (await client.put(f"{ref}/pause", headers=dev)).status == 403
    listed = await (await client.get("/executions", params={"executionIds": ref.split("/")[-1]}, headers=dev)).json()
    assert listed == []

    assert (await client.put(f"{ref}/cancel", headers=ops)).status == 202
    assert (await finished(client, ref, headers=ops))["status"] == "CANCELED"
