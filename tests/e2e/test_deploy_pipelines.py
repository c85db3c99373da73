"""Deploy pipelines end to end through the gateway, with real processes behind a real load balancer.

For each strategy (red/black, highlander, rolling red/black) a pipeline deploys v1 of the example
app behind a ``local`` load balancer, then v2 while clients send requests through the balancer the
whole time, then v3 whose health check fails: ``rollback.onFailure`` puts v2 back in service. Not
one request fails, v3 never serves, and Gate's server group reads show the end state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from schemas.json_types import Json
from tests.e2e.local_system import HELLO, finished, local_system
from tests.integration.clouddriver.load import Load
from tests.integration.gate.conftest import Client
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import save, trigger


@pytest.fixture
async def gate(tmp_path: Path) -> AsyncIterator[Client]:
    async with local_system(tmp_path) as system:
        yield system.client


def deploy_pipeline(name: str, strategy: str, **strategy_options: Any) -> Json:
    cluster = {
        "application": "hello",
        "stack": "prod",
        "account": "local",
        "cloudProvider": "local",
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "loadBalancers": ["hello-prod"],
        "strategy": strategy,
        "rollback": {"onFailure": True},
        "waitForUpTimeoutSeconds": 6,
        "command": HELLO,
        "env": {
            "HELLO_VERSION": "${parameters.version}",
            "HELLO_FAIL_HEALTH": "${parameters.failHealth}",
            "HELLO_DELAY_MS": "10",
        },
        "healthCheckPath": "/health",
        "stopTimeoutSeconds": 5,
        **strategy_options,
    }
    return {
        "application": "hello",
        "name": name,
        "parameterConfig": [{"name": "version", "required": True}, {"name": "failHealth", "default": "0"}],
        "stages": [
            {"refId": "1", "type": "deploy", "name": "Deploy", "requisiteStageRefIds": [], "clusters": [cluster]}
        ],
    }


async def deploy(client: Client, name: str, version: str, *, fail_health: bool = False) -> Json:
    parameters = {"version": version, "failHealth": "1" if fail_health else "0"}
    return await finished(client, await trigger(client, "hello", name, {"parameters": parameters}), timeout=60)


async def server_groups(client: Client) -> dict[str, bool]:
    response = await client.get("/applications/hello/serverGroups")
    assert response.status == 200, await response.text()
    return {group["name"]: bool(group["isDisabled"]) for group in await response.json()}


@pytest.mark.parametrize(
    ("strategy", "options"),
    [
        ("redblack", {"scaleDown": False, "maxRemainingAsgs": 3}),
        ("highlander", {}),
        ("rollingredblack", {"targetPercentages": [50, 100]}),
    ],
)
async def test_deploys_drop_no_request_and_a_failed_one_rolls_back(gate: Client, strategy: str, options: Json) -> None:
    await create_application(gate, "hello")
    balancer_stage = {
        "refId": "1",
        "type": "upsertLoadBalancer",
        "name": "Load balancer",
        "requisiteStageRefIds": [],
        "loadBalancers": [{"name": "hello-prod", "credentials": "local", "cloudProvider": "local"}],
    }
    await save(gate, {"application": "hello", "name": "lb", "stages": [balancer_stage]})
    await save(gate, deploy_pipeline("deploy", strategy, **options))

    balancer = await finished(gate, await trigger(gate, "hello", "lb"), timeout=30)
    assert balancer["status"] == "SUCCEEDED", balancer["stages"][0]["context"].get("exception")
    url = balancer["stages"][0]["outputs"]["loadBalancers"]["local"]["hello-prod"]["url"] + "/"

    first = await deploy(gate, "deploy", "v1")
    assert first["status"] == "SUCCEEDED", [s["context"].get("exception") for s in first["stages"]]

    load = Load(url)
    generator = asyncio.create_task(load.run(clients=6))
    try:
        await load.until_served("v1", 20)
        second = await deploy(gate, "deploy", "v2")
        assert second["status"] == "SUCCEEDED", [s["context"].get("exception") for s in second["stages"]]
        steps = [s["type"] for s in second["stages"] if s.get("parentStageId")]
        assert steps[0] == "createServerGroup" and len(steps) > 1  # the strategy's steps are stages
        await load.until_served("v2", 30)
        v1_after = load.versions["v1"]
        await load.until_served("v2", 30)
        assert load.versions["v1"] == v1_after, "v1 still served after the deploy of v2"

        third = await deploy(gate, "deploy", "v3", fail_health=True)
        assert third["status"] == "TERMINAL"
        restore = [s for s in third["stages"] if s["syntheticRole"] == "failure"]
        assert [(s["type"], s["status"]) for s in restore] == [("rollbackServerGroup", "SUCCEEDED")], [
            s["name"] for s in third["stages"]
        ]
        await load.until_served("v2", 30)
    finally:
        load.stopping.set()
        await generator
    assert load.failures == []
    assert load.versions["v3"] == 0
    groups = await server_groups(gate)
    enabled = [name for name, disabled in groups.items() if not disabled]
    assert enabled == ["hello-prod-v001"], groups
    print(f"{strategy}: requests served {dict(load.versions)}, failed {len(load.failures)}")


def size_check(expected: int, comparison: str = "==", **options: Any) -> Json:
    context = {"credentials": "local", "cluster": "hello-prod", "regions": ["local"], "expected": expected}
    precondition = {"type": "clusterSize", "context": {**context, "comparison": comparison}, **options}
    return {
        "application": "hello",
        "name": f"size {comparison} {expected}",
        "stages": [
            {
                "refId": "1",
                "type": "checkPreconditions",
                "name": "Check",
                "requisiteStageRefIds": [],
                "preconditions": [precondition],
            }
        ],
    }


async def test_cluster_size_preconditions_count_what_clouddriver_sees(gate: Client) -> None:
    await create_application(gate, "hello")
    config = deploy_pipeline("deploy", "none")
    del config["stages"][0]["clusters"][0]["loadBalancers"]
    await save(gate, config)
    assert (await deploy(gate, "deploy", "v1"))["status"] == "SUCCEEDED"

    outcomes: dict[str, tuple[Any, ...]] = {}
    for name, check in {
        "one": size_check(1),
        "more than one": size_check(1, ">"),
        "two, or stop": size_check(2, failPipeline=False),
    }.items():
        await save(gate, check)
        execution = await finished(gate, await trigger(gate, "hello", check["name"]), timeout=30)
        stage = execution["stages"][0]
        outcomes[name] = (
            execution["status"],
            stage["status"],
            (stage["context"].get("exception") or {}).get("details"),
        )
    assert outcomes["one"] == ("SUCCEEDED", "SUCCEEDED", None)
    assert outcomes["more than one"][:2] == ("TERMINAL", "TERMINAL")
    assert "hello-prod has 1 server groups in local, expected > 1" in outcomes["more than one"][2]["error"]
    assert outcomes["two, or stop"][:2] == ("SUCCEEDED", "STOPPED")


async def test_a_cluster_size_precondition_without_a_cluster_fails_naming_it(gate: Client) -> None:
    await create_application(gate, "hello")
    check = size_check(1)
    del check["stages"][0]["preconditions"][0]["context"]["cluster"]
    await save(gate, check)
    execution = await finished(gate, await trigger(gate, "hello", check["name"]), timeout=30)
    error = execution["stages"][0]["context"]["exception"]["details"]["error"]
    assert execution["status"] == "TERMINAL" and "preconditions[0].context" in error and "'cluster'" in error
