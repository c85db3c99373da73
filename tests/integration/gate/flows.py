"""What a Spinnaker client does, step by step: submit a task and poll it, as Deck and spin do."""

from __future__ import annotations

from typing import Any

from schemas.json_types import Json
from tests.integration.gate.conftest import Client, eventually

FINISHED = {"SUCCEEDED", "TERMINAL", "CANCELED"}


async def run_task(client: Client, body: Json, *, headers: dict[str, str] | None = None) -> Json:
    """POST /tasks, then poll its ref until it finishes; returns the finished task."""
    response = await client.post("/tasks", json=body, headers=headers)
    assert response.status == 200, await response.text()
    ref = (await response.json())["ref"]
    assert ref.startswith("/tasks/")

    async def poll() -> Json:
        polled = await client.get(ref, headers=headers)
        assert polled.status == 200, await polled.text()
        task: Json = await polled.json()
        return task

    finished: Json = await eventually(poll, lambda task: task["status"] in FINISHED)
    return finished


def create_application_task(name: str, **attributes: Any) -> Json:
    """The body Deck sends to create an application."""
    application = {"name": name, "email": f"{name}-team@example.com", "cloudProviders": "aws", **attributes}
    return {
        "application": name,
        "description": f"Create Application: {name}",
        "job": [{"type": "createApplication", "application": application, "user": "newcomer"}],
    }


async def create_application(
    client: Client, name: str, *, headers: dict[str, str] | None = None, **attributes: Any
) -> Json:
    """Create an application through a task and check it SUCCEEDED."""
    task = await run_task(client, create_application_task(name, **attributes), headers=headers)
    assert task["status"] == "SUCCEEDED", task
    return task


def exported_pipeline(application: str, name: str = "deploy to prod") -> Json:
    """A pipeline as Spinnaker's "Pipeline actions → Edit as JSON" exports it."""
    return {
        "application": application,
        "name": name,
        "keepWaitingPipelines": False,
        "limitConcurrent": True,
        "spelEvaluator": "v4",
        "parameterConfig": [
            {
                "name": "tag",
                "label": "Image tag",
                "default": "latest",
                "required": True,
                "hasOptions": False,
                "options": [],
            }
        ],
        "triggers": [
            {"type": "cron", "enabled": True, "cronExpression": "0 0 12 ? * MON-FRI", "id": "c7f6a1d2"},
            {
                "type": "docker",
                "enabled": False,
                "account": "dockerhub",
                "organization": "acme",
                "registry": "index.docker.io",
                "repository": "acme/shop",
                "tag": "",
            },
        ],
        "notifications": [
            {
                "type": "slack",
                "address": "shop-deploys",
                "level": "pipeline",
                "when": ["pipeline.failed", "pipeline.complete"],
            }
        ],
        "stages": [
            {"refId": "1", "requisiteStageRefIds": [], "type": "wait", "name": "Wait", "waitTime": 30},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "manualJudgment",
                "name": "Approve",
                "judgmentInputs": [],
                "notifications": [],
                "failPipeline": True,
            },
            {
                "refId": "3",
                "requisiteStageRefIds": ["2"],
                "type": "deployManifest",
                "name": "Deploy (Manifest)",
                "account": "staging",
                "cloudProvider": "kubernetes",
                "manifestArtifactAccount": "embedded-artifact",
                "moniker": {"app": application},
                "skipExpressionEvaluation": False,
                "source": "text",
                "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop"}}],
            },
        ],
        "description": "Deploys shop to production after approval",
    }
