"""Canary analysis end to end: a pipeline deploys a baseline and a canary of the example app with the
``local`` provider, Debian's Prometheus scrapes both through their load balancers, Kayenta judges
the ``kayentaCanary`` stage's intervals, and the pipeline promotes the canary or rolls back.

The same pipeline runs twice at once (its ``stack`` parameter keeps the clusters apart): a canary
answering as fast as its baseline is promoted to the ``hello-<stack>`` cluster; one 12 times slower
with 20% errors fails its first interval, and the pipeline's rollback disables what it deployed.
Prometheus knows each balancer's cluster by a target label, as service discovery would tell it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bus.service import Service
from gennaker.host import free_port
from gennaker.resources import WorkerResources
from schemas.json_types import Json
from tests.e2e.local_system import HELLO, finished, local_system
from tests.integration.gate.conftest import Client
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import save, trigger
from tests.prometheus import start_prometheus
from workers.kayenta import worker as kayenta
from workers.kayenta.sources.prometheus import PrometheusSource

STACKS = ("good", "bad")
ROLES = ("baseline", "canary")
CLUSTERS = [f"hello-{stack}-{role}" for stack in STACKS for role in ROLES]


@pytest.fixture
async def gate(tmp_path: Path) -> AsyncIterator[tuple[Client, dict[str, int]]]:
    """Gate with Front50, Orca, Clouddriver (local) and Kayenta; Prometheus scraping one balancer port per cluster."""
    ports = {cluster: free_port() for cluster in CLUSTERS}
    async with AsyncExitStack() as stack:
        targets = {f"127.0.0.1:{port}": {"cluster": cluster} for cluster, port in ports.items()}
        prometheus = stack.enter_context(start_prometheus(list(targets), labels=targets))
        source = PrometheusSource("prometheus", prometheus)

        def judge(resources: WorkerResources) -> list[Service]:
            return [kayenta.build_service(resources, sources={"prometheus": source})]

        system = await stack.enter_async_context(local_system(tmp_path, extra=judge))
        yield system.client, ports


def rate(metric: str, selector: str = "") -> str:
    return f'sum(rate({metric}{{cluster="${{scope}}"{selector}}}[3s]))'


def metric(name: str, group: str, template: str, **canary: Any) -> Json:
    return {
        "name": name,
        "query": {"type": "prometheus", "customInlineTemplate": f"PromQL:{template}"},
        "groups": [group],
        "analysisConfigurations": {"canary": {"direction": "increase", **canary}},
    }


CANARY_CONFIG = {
    "name": "hello-latency-and-errors",
    "applications": ["hello"],
    "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
    "metrics": [
        metric(
            "latency",
            "latency",
            f"{rate('hello_request_duration_seconds_sum')} / {rate('hello_request_duration_seconds_count')}",
            effectSize={"allowedIncrease": 1.5},
        ),
        metric("errors", "errors", f"{rate('hello_requests_total', ',code="500"')} / {rate('hello_requests_total')}"),
    ],
    "classifier": {"groupWeights": {"latency": 50, "errors": 50}},
    "templates": {},
}


def cluster(detail: str | None, version: str, delay: str, error_rate: str = "0", *, balanced: bool = True) -> Json:
    name = "hello-${parameters.stack}" + (f"-{detail}" if detail else "")
    return {
        "application": "hello",
        "stack": "${parameters.stack}",
        **({"freeFormDetails": detail} if detail else {}),
        "account": "local",
        "cloudProvider": "local",
        "capacity": {"min": 1, "max": 1, "desired": 1},
        **({"loadBalancers": [name]} if balanced else {}),
        "strategy": "none",
        "waitForUpTimeoutSeconds": 10,
        "command": HELLO,
        "env": {"HELLO_VERSION": version, "HELLO_DELAY_MS": delay, "HELLO_ERROR_RATE": error_rate},
        "healthCheckPath": "/health",
        "stopTimeoutSeconds": 2,
    }


def canary_pipeline(config_id: str) -> Json:
    """Deploy baseline (v1) and canary (v2), judge the canary for 8 s in two intervals after a 2 s warm-up, then
    promote v2."""
    canary_cluster = cluster("canary", "v2", "${parameters.canaryDelayMs}", "${parameters.canaryErrorRate}")
    scope = {
        "controlScope": "hello-${parameters.stack}-baseline",
        "experimentScope": "hello-${parameters.stack}-canary",
        "step": 1,
    }
    return {
        "application": "hello",
        "name": "canary release",
        "rollback": {"onFailure": True},
        "parameterConfig": [
            {"name": "stack", "required": True},
            {"name": "canaryDelayMs", "default": "5"},
            {"name": "canaryErrorRate", "default": "0"},
        ],
        "stages": [
            {
                "refId": "deploy",
                "type": "deploy",
                "name": "Deploy baseline and canary",
                "requisiteStageRefIds": [],
                "clusters": [cluster("baseline", "v1", "5"), canary_cluster],
            },
            {
                "refId": "canary",
                "type": "kayentaCanary",
                "name": "Canary analysis",
                "requisiteStageRefIds": ["deploy"],
                "canaryConfig": {
                    "canaryConfigId": config_id,
                    "metricsAccountName": "prometheus",
                    "scopes": [scope],
                    "lifetimeDuration": "PT8S",
                    "beginCanaryAnalysisAfterMins": str(2 / 60),
                    "canaryAnalysisIntervalMins": str(4 / 60),
                    "scoreThresholds": {"pass": 75, "marginal": 50},
                },
            },
            {
                "refId": "promote",
                "type": "deploy",
                "name": "Promote the canary",
                "requisiteStageRefIds": ["canary"],
                "clusters": [cluster(None, "v2", "5", balanced=False)],
            },
        ],
    }


async def traffic(url: str, stopping: asyncio.Event) -> None:
    """About 50 requests a second to ``url`` until stopped (503s while nothing serves are expected)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while not stopping.is_set():
            with suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url) as response:
                    await response.read()
            await asyncio.sleep(0.02)


def by_name(execution: Json) -> dict[str, Json]:
    return {stage["name"]: stage for stage in execution["stages"]}


async def test_a_canary_pipeline_promotes_a_healthy_canary_and_rolls_a_bad_one_back(
    gate: tuple[Client, dict[str, int]],
) -> None:
    client, ports = gate
    await create_application(client, "hello")
    created = await client.post("/v2/canaryConfig", json=CANARY_CONFIG)
    assert created.status == 200, await created.text()
    config_id = (await created.json())["canaryConfigId"]
    balancers = [
        {
            "refId": name,
            "type": "upsertLoadBalancer",
            "name": name,
            "requisiteStageRefIds": [],
            "loadBalancers": [{"name": name, "credentials": "local", "cloudProvider": "local", "port": port}],
        }
        for name, port in ports.items()
    ]
    await save(client, {"application": "hello", "name": "balancers", "stages": balancers})
    made = await finished(client, await trigger(client, "hello", "balancers"), timeout=30)
    assert made["status"] == "SUCCEEDED", [stage["context"].get("exception") for stage in made["stages"]]
    await save(client, canary_pipeline(config_id))

    stopping = asyncio.Event()
    load = [asyncio.create_task(traffic(f"http://127.0.0.1:{port}/", stopping)) for port in ports.values()]
    try:
        good, bad = await asyncio.gather(
            trigger(client, "hello", "canary release", {"parameters": {"stack": "good"}}),
            trigger(
                client,
                "hello",
                "canary release",
                {"parameters": {"stack": "bad", "canaryDelayMs": "60", "canaryErrorRate": "0.2"}},
            ),
        )
        healthy, failing = await asyncio.gather(finished(client, good, timeout=90), finished(client, bad, timeout=90))
    finally:
        stopping.set()
        await asyncio.gather(*load)

    stages = by_name(healthy)
    analysis = stages["Canary analysis"]
    assert healthy["status"] == "SUCCEEDED", {name: s["context"].get("exception") for name, s in stages.items()}
    assert [stages[f"Run Canary #{n}"]["status"] for n in (1, 2)] == ["SUCCEEDED", "SUCCEEDED"]
    assert analysis["outputs"]["canaryScores"] == [100.0, 100.0]
    assert (
        analysis["context"]["canaryScoreMessage"]
        == "Final canary score 100.0 met or exceeded the pass score threshold."
    )
    assert stages["Promote the canary"]["status"] == "SUCCEEDED"

    stages = by_name(failing)
    assert failing["status"] == "TERMINAL"
    assert stages["Run Canary #1"]["status"] == "TERMINAL" and stages["Run Canary #2"]["status"] == "NOT_STARTED"
    assert stages["Canary analysis"]["status"] == "TERMINAL"
    assert stages["Promote the canary"]["status"] == "NOT_STARTED"
    assert failing["rollback"]["status"] == "SUCCEEDED"
    report_id = stages["Run Canary #1"]["outputs"]["canaryPipelineExecutionId"]
    report = await (await client.get(f"/v2/canaries/canary/{report_id}")).json()
    results = {r["name"]: r["classification"] for r in report["result"]["judgeResult"]["results"]}
    assert results == {"latency": "High", "errors": "High"}, report["result"]["judgeResult"]
    # judged on series, not on one sample (a scrape or two a busy machine misses are fine)
    assert report["result"]["judgeResult"]["results"][0]["experimentMetadata"]["stats"]["count"] >= 2

    groups = await (await client.get("/applications/hello/serverGroups")).json()
    state = {group["name"]: group["isDisabled"] for group in groups}
    assert state["hello-good-v000"] is False and state["hello-good-canary-v000"] is False
    assert state["hello-bad-canary-v000"] is True and "hello-bad-v000" not in state, state
