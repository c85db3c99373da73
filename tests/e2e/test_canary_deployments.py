"""A ``kayentaCanary`` stage with Orca's ``deployments`` on the ``local`` provider: it deploys its own
baseline and canary server groups of the example app, judges them by their new names, and removes
both when the canary fails. The metrics come from Kayenta's in-process account here (the
Prometheus path is tests/e2e/test_canary_pipeline.py's), so the run needs no traffic or waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from bus.service import Service
from gennaker.resources import WorkerResources
from schemas.json_types import Json
from tests.e2e.local_system import HELLO, finished, local_system
from tests.integration.gate.conftest import Client
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import save, trigger
from workers.kayenta import worker as kayenta
from workers.kayenta.sources.memory import MemorySource


@pytest.fixture
async def gate(tmp_path: Path) -> AsyncIterator[tuple[Client, MemorySource]]:
    metrics = MemorySource("metrics")

    def judge(resources: WorkerResources) -> list[Service]:
        return [kayenta.build_service(resources, sources={"metrics": metrics})]

    async with local_system(tmp_path, extra=judge) as system:
        yield system.client, metrics


def spec(detail: str, version: str) -> Json:
    return {
        "application": "hello",
        "stack": "prod",
        "freeFormDetails": detail,
        "account": "local",
        "cloudProvider": "local",
        "capacity": {"min": 1, "max": 1, "desired": 1},
        "strategy": "none",  # a fresh cluster: nothing for highlander to remove
        "waitForUpTimeoutSeconds": 10,
        "command": HELLO,
        "env": {"HELLO_VERSION": version},
        "healthCheckPath": "/health",
        "stopTimeoutSeconds": 2,
    }


async def test_a_canary_deploys_its_own_server_groups_and_removes_them_when_it_fails(
    gate: tuple[Client, MemorySource],
) -> None:
    client, metrics = gate
    rng = np.random.default_rng(17)
    metrics.put("hello-prod-baseline-v000", "latency", list(rng.normal(0.1, 0.005, 31)))
    metrics.put("hello-prod-canary-v000", "latency", list(rng.normal(0.3, 0.015, 31)))
    await create_application(client, "hello")
    config = {
        "name": "latency",
        "applications": ["hello"],
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": [
            {
                "name": "latency",
                "query": {"type": "memory", "metricName": "latency"},
                "groups": ["latency"],
                "analysisConfigurations": {"canary": {"direction": "increase"}},
            }
        ],
        "classifier": {"groupWeights": {"latency": 100}},
        "templates": {},
    }
    config_id = (await (await client.post("/v2/canaryConfig", json=config)).json())["canaryConfigId"]
    canary = {
        "refId": "canary",
        "type": "kayentaCanary",
        "name": "Canary analysis",
        "requisiteStageRefIds": [],
        "canaryConfig": {
            "canaryConfigId": config_id,
            "metricsAccountName": "metrics",
            "scopes": [
                {
                    "controlScope": "ignored: the deployed baseline is judged",
                    "experimentScope": "ignored: the deployed canary is judged",
                    "startTimeIso": "2026-12-02T07:00:00Z",
                    "endTimeIso": "2026-12-02T07:05:00Z",
                    "step": 10,
                }
            ],
            "scoreThresholds": {"pass": 75, "marginal": 50},
        },
        "deployments": {
            "baseline": {"application": "hello", "account": "local", "cluster": "hello-prod"},
            "serverGroupPairs": [{"control": spec("baseline", "v1"), "experiment": spec("canary", "v2")}],
            "delayBeforeCleanup": 0,
        },
    }
    await save(client, {"application": "hello", "name": "canary", "stages": [canary]})
    execution = await finished(client, await trigger(client, "hello", "canary"), timeout=60)

    stages = {stage["name"]: stage for stage in execution["stages"]}
    assert execution["status"] == "TERMINAL"
    assert stages["Canary analysis"]["status"] == "TERMINAL"
    deployed = stages["Deploy Canary Server Groups"]["outputs"]["deployedServerGroups"]
    assert [(d["controlScope"], d["experimentScope"]) for d in deployed] == [
        ("hello-prod-baseline-v000", "hello-prod-canary-v000")
    ]
    run = stages["Run Canary #1"]
    assert run["status"] == "TERMINAL"
    assert run["context"]["scopes"]["default"]["experimentScope"]["scope"] == "hello-prod-canary-v000"
    cleanup = {name: stage["status"] for name, stage in stages.items() if "cluster hello-prod-" in name}
    assert cleanup == {
        "Disable control cluster hello-prod-baseline": "SUCCEEDED",
        "Disable experiment cluster hello-prod-canary": "SUCCEEDED",
        "Cleanup control cluster hello-prod-baseline": "SUCCEEDED",
        "Cleanup experiment cluster hello-prod-canary": "SUCCEEDED",
    }, {name: stages[name]["context"].get("exception") for name in cleanup}
    groups = await (await client.get("/applications/hello/serverGroups")).json()
    assert groups == []
