"""A pipeline execution, as stored JSON, that the expression tests evaluate against."""

from __future__ import annotations

from typing import Any

from workers.orca.expressions import stage_root

EXECUTION: dict[str, Any] = {
    "id": "01EXEC",
    "application": "shop",
    "name": "Deploy to prod",
    "status": "RUNNING",
    "trigger": {
        "type": "jenkins",
        "user": "ana@example.com",
        "buildInfo": {
            "number": 42,
            "url": "https://ci/job/shop/42",
            "scm": [{"branch": "master", "sha1": "aaa"}, {"branch": "feature/x", "sha1": "bbb"}],
        },
        "parameters": {"env": "prod", "regions": "us-east-1,us-west-1,eu-west-1", "canary": "true", "count": "3"},
        "resolvedArtifacts": [{"type": "docker/image", "name": "gcr.io/shop", "reference": "gcr.io/shop:1.2.3"}],
    },
    "stages": [
        {
            "id": "s-bake",
            "refId": "1",
            "type": "bake",
            "name": "Bake",
            "status": "SUCCEEDED",
            "context": {"amiName": "ami-123", "region": "us-east-1"},
            "outputs": {"deploymentDetails": [{"ami": "ami-123"}]},
        },
        {
            "id": "s-deploy",
            "refId": "2",
            "type": "deploy",
            "name": "Deploy",
            "status": "SUCCEEDED",
            "context": {
                "account": "prod",
                "region": "us-east-1",
                "capacity": {"min": 1, "max": 3, "desired": 2},
                "deploy.server.groups": {"us-east-1": ["shop-v042"]},
                "kato.tasks": [{"resultObjects": [{"deployments": [{"serverGroupName": "shop-v042"}]}]}],
            },
            "outputs": {},
        },
        {
            "id": "s-approve",
            "refId": "3",
            "type": "manualJudgment",
            "name": "Approve",
            "status": "SUCCEEDED",
            "context": {"judgmentInput": "Promote", "judgmentStatus": "continue"},
        },
        {
            "id": "s-wait",
            "refId": "4",
            "type": "wait",
            "name": "Wait",
            "status": "RUNNING",
            "context": {"waitTime": 30},
        },
        {"id": "s-fail", "refId": "5", "type": "script", "name": "Smoke", "status": "TERMINAL", "context": {}},
    ],
}

CURRENT_STAGE = {"id": "s-wait", "refId": "4", "type": "wait", "name": "Wait", "context": {"waitTime": 30}}


def root() -> dict[str, Any]:
    """The root the Wait stage's expressions see."""
    return stage_root(CURRENT_STAGE, EXECUTION)
