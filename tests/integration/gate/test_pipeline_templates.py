"""Spinnaker's managed pipeline templates (v2) through Gate's paths: store, plan, run, guard."""

from __future__ import annotations

from typing import Any

from schemas.json_types import Json
from tests.integration.gate.conftest import Client, System, as_user
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import by_ref, finished, save, trigger

RESTRICTED = {"READ": ["ops"], "WRITE": ["ops"], "EXECUTE": ["ops"]}


def template(**fields: Any) -> Json:
    return {
        "schema": "v2",
        "id": "wait-and-deploy",
        "metadata": {"name": "Wait and deploy", "description": "waits, then says where", "scopes": ["shop"]},
        "variables": [
            {"name": "waitTime", "type": "int", "defaultValue": 0},
            {"name": "region", "type": "string", "description": "where to deploy"},
        ],
        "pipeline": {
            "stages": [
                {
                    "refId": "wait1",
                    "type": "wait",
                    "name": "Wait",
                    "waitTime": "${ templateVariables.waitTime }",
                    "note": "${ execution.application }/${ templateVariables.region }",
                },
                {
                    "refId": "say",
                    "type": "wait",
                    "name": "Say where",
                    "requisiteStageRefIds": ["wait1"],
                    "waitTime": 0,
                    "comments": "deploying to ${ templateVariables.region }",
                },
            ],
            "parameterConfig": [{"name": "ticket", "default": "T-1"}],
        },
        **fields,
    }


def templated(**fields: Any) -> Json:
    return {
        "schema": "v2",
        "type": "templatedPipeline",
        "application": "shop",
        "name": "from template",
        "template": {
            "artifactAccount": "front50ArtifactCredentials",
            "reference": "spinnaker://wait-and-deploy:stable",
            "type": "front50/pipelineTemplate",
        },
        "variables": {"region": "eu-west-1"},
        "exclude": [],
        "triggers": [],
        "parameters": [],
        "notifications": [],
        "stages": [],
        **fields,
    }


async def error_of(response: Any, status: int) -> Json:
    assert response.status == status, await response.text()
    body: Json = await response.json()
    return body


async def test_a_template_is_stored_planned_run_and_kept_while_used(client: Client) -> None:
    created = await client.post("/v2/pipelineTemplates/create?tag=stable", json=template())
    assert created.status == 200, await created.text()
    assert (await created.json())["status"] == "SUCCEEDED"
    again = await error_of(await client.post("/v2/pipelineTemplates/create?tag=stable", json=template()), 409)
    assert again["field"] == "id" and "wait-and-deploy:stable" in again["message"]
    bad_tag = await error_of(await client.post("/v2/pipelineTemplates/create?tag=prod", json=template()), 400)
    assert bad_tag["field"] == "tag"
    wrong_default = template(variables=[{"name": "waitTime", "type": "int", "defaultValue": "soon"}])
    bad = await error_of(await client.post("/v2/pipelineTemplates/create", json=wrong_default), 400)
    assert bad["field"] == "variables[0].defaultValue"

    stored = await (await client.get("/v2/pipelineTemplates/wait-and-deploy?tag=stable")).json()
    assert stored["variables"] == template()["variables"] and "digest" not in stored and "tag" not in stored
    versions = await (await client.get("/v2/pipelineTemplates/versions")).json()
    tags = sorted(str(version.get("tag")) for version in versions["wait-and-deploy"])
    assert tags == ["latest", "stable", "stable"], "its tag, latest and its digest"
    digest = next(version["digest"] for version in versions["wait-and-deploy"])
    by_digest = await client.get(f"/v2/pipelineTemplates/wait-and-deploy?digest={digest}")
    assert by_digest.status == 200

    # the plan shows the rendered pipeline; a missing variable is named
    planned = await client.post("/v2/pipelineTemplates/plan", json=templated(variables={"region": "eu-west-1"}))
    assert planned.status == 200, await planned.text()
    pipeline = await planned.json()
    assert [s["refId"] for s in pipeline["stages"]] == ["wait1", "say"]
    assert pipeline["stages"][0]["waitTime"] == 0 and pipeline["stages"][1]["comments"] == "deploying to eu-west-1"
    missing = await error_of(await client.post("/v2/pipelineTemplates/plan", json=templated(variables={})), 400)
    assert missing["field"] == "variables.region" and "region" in missing["message"]
    unknown = templated(template={"reference": "spinnaker://nope:stable"})
    assert (await error_of(await client.post("/v2/pipelineTemplates/plan", json=unknown), 404))["field"] == (
        "template.reference"
    )

    # a templated pipeline config is saved (its stages override the template's) and runs rendered
    await create_application(client, "shop")
    override = {"refId": "say", "type": "wait", "name": "Say more", "waitTime": 0, "requisiteStageRefIds": ["wait1"]}
    config = await save(client, templated(stages=[override], variables={"region": "us-east-1", "waitTime": 0}))
    execution = await finished(client, await trigger(client, "shop", "from template"))
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["pipelineConfigId"] == config["id"]
    assert by_ref(execution, "say")["name"] == "Say more"
    assert by_ref(execution, "wait1")["context"]["waitTime"] == 0, "the variable, substituted with its type"
    assert by_ref(execution, "wait1")["context"]["note"] == "shop/us-east-1", "evaluated as the stage started"
    assert execution["templateVariables"] == {"waitTime": 0, "region": "us-east-1"}
    assert execution["trigger"]["parameters"] == {"ticket": "T-1"}, "the template's parameters"

    dependents = await (await client.get("/v2/pipelineTemplates/wait-and-deploy/dependents")).json()
    assert dependents == [{"application": "shop", "pipelineConfigId": config["id"], "pipelineName": "from template"}]
    whole = await (await client.get("/v2/pipelineTemplates/wait-and-deploy/dependentPipelines")).json()
    assert [pipeline["id"] for pipeline in whole] == [config["id"]] and whole[0]["type"] == "templatedPipeline"
    used = await error_of(await client.delete("/v2/pipelineTemplates/wait-and-deploy?tag=stable"), 400)
    assert config["id"] in used["message"]
    assert (await client.delete(f"/pipelines/shop/{config['name']}")).status == 200
    assert (await client.delete("/v2/pipelineTemplates/wait-and-deploy")).status == 200
    assert (await client.get("/v2/pipelineTemplates/wait-and-deploy")).status == 404


async def test_a_broken_templated_start_is_refused_naming_the_variable(client: Client) -> None:
    assert (await client.post("/v2/pipelineTemplates/create?tag=stable", json=template())).status == 200
    await create_application(client, "shop")
    await save(client, templated(variables={"region": 42}))
    response = await client.post("/pipelines/shop/from template", json={})
    refusal = await error_of(response, 400)
    assert refusal["field"] == "variables.region" and "expected type 'string'" in refusal["message"]


async def test_front50_guards_templates_by_their_application(secured: System) -> None:
    client = secured.client
    await create_application(client, "shop", headers=as_user("admin"), permissions=RESTRICTED)
    outsider = await client.post("/v2/pipelineTemplates/create", json=template(), headers=as_user("outsider"))
    assert (await error_of(outsider, 403))["field"] == "metadata.scopes"
    owner = await client.post("/v2/pipelineTemplates/create", json=template(), headers=as_user("ops"))
    assert owner.status == 200, await owner.text()
    hidden = await client.get("/v2/pipelineTemplates/wait-and-deploy", headers=as_user("outsider"))
    assert hidden.status == 403
    assert await (await client.get("/v2/pipelineTemplates", headers=as_user("outsider"))).json() == []
    shown = await (await client.get("/v2/pipelineTemplates", headers=as_user("ops"))).json()
    assert {version["id"] for version in shown} == {"wait-and-deploy"}
