"""Gate's /v2/canaries over the real Front50 and Kayenta workers: run a stored config, poll, read the report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from tests.integration.gate.conftest import AUTH, System, as_user, start_system
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_canary_configs import canary_config
from tests.integration.gate.test_executions import by_ref, config, finished, save, trigger
from tests.integration.kayenta.conftest import execution_request
from workers.kayenta.sources.memory import MemorySource
from workers.kayenta.worker import build_service


async def with_kayenta(system: System, stack: AsyncExitStack) -> MemorySource:
    source = MemorySource("prometheus")
    rng = np.random.default_rng(5)
    source.put("baseline", "http_latency_seconds", list(rng.normal(0.1, 0.005, 31)))
    source.put("canary", "http_latency_seconds", list(rng.normal(0.3, 0.015, 31)))
    host = ServiceHost(
        system.bus, build_service(WorkerResources(settings=Settings(), db=system.db), sources={"prometheus": source})
    )
    await host.start()
    stack.push_async_callback(host.stop)
    return source


@dataclass
class Canaries:
    """The system and Kayenta's in-process metrics account."""

    system: System
    source: MemorySource

    @property
    def client(self) -> Any:
        return self.system.client


@pytest.fixture
async def canaries() -> AsyncIterator[Canaries]:
    async with AsyncExitStack() as stack:
        system = await start_system(stack)
        yield Canaries(system, await with_kayenta(system, stack))


@pytest.fixture
async def secured_canaries() -> AsyncIterator[Canaries]:
    async with AsyncExitStack() as stack:
        system = await start_system(stack, auth=AUTH)
        yield Canaries(system, await with_kayenta(system, stack))


async def completed(client: Any, execution_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            answer = await client.get(f"/v2/canaries/canary/{execution_id}", headers=headers)
            assert answer.status == 200, await answer.text()
            execution: dict[str, Any] = await answer.json()
            if execution["complete"]:
                return execution
            await asyncio.sleep(0.05)


async def test_run_a_stored_config_and_read_kayentas_report(canaries: Canaries) -> None:
    client = canaries.client
    await create_application(client, "shop")
    config_id = (await (await client.post("/v2/canaryConfig", json=canary_config())).json())["canaryConfigId"]

    started = await client.post(
        f"/v2/canaries/canary/{config_id}",
        params={"application": "shop", "metricsAccountName": "prometheus", "sequential": "true"},
        json=execution_request(),
    )
    assert started.status == 200, await started.text()
    execution_id = (await started.json())["canaryExecutionId"]
    execution = await completed(client, execution_id)
    assert execution["status"] == "succeeded" and execution["canaryConfigId"] == config_id
    score = execution["result"]["judgeResult"]["score"]
    assert (score["score"], score["classification"]) == (0.0, "Fail")
    (metric,) = execution["result"]["judgeResult"]["results"]
    assert (metric["classification"], metric["classificationReason"]) == ("High", "p99 was classified as High")
    assert metric["resultMetadata"]["ratio"] == pytest.approx(3.0, rel=0.05)

    pairs = await (await client.get(f"/v2/canaries/metricSetPairList/{execution['metricSetPairListId']}")).json()
    assert pairs[0]["name"] == "p99" and len(pairs[0]["values"]["control"]) == 31
    listed = await (await client.get("/v2/canaries/shop/executions")).json()
    assert [e["id"] for e in listed] == [execution_id]
    credentials = await (await client.get("/v2/canaries/credentials")).json()
    assert credentials == [{"name": "prometheus", "type": "memory", "supportedTypes": ["METRICS_STORE"]}]
    assert (await (await client.get("/v2/canaries/judges")).json())[0]["name"] == "NetflixACAJudge-v1.0"
    descriptors = await client.get("/v2/canaries/metadata/metricsService", params={"filter": "LATENCY"})
    assert await descriptors.json() == [{"name": "http_latency_seconds"}]
    nothing = await client.get("/v2/canaries/metadata/metricsService", params={"filter": "cpu"})
    assert await nothing.json() == []
    unknown = await client.get("/v2/canaries/metadata/metricsService", params={"metricsAccountName": "nope"})
    assert unknown.status == 400 and (await unknown.json())["field"] == "metricsAccountName"


async def test_an_adhoc_run_and_bad_requests(canaries: Canaries) -> None:
    client = canaries.client
    await create_application(client, "shop")
    body = {"canaryConfig": canary_config(), "executionRequest": execution_request()}
    started = await client.post("/v2/canaries/canary", params={"application": "shop"}, json=body)
    execution = await completed(client, (await started.json())["canaryExecutionId"])
    assert execution["result"]["judgeResult"]["score"]["classification"] == "Fail"

    no_thresholds = {"scopes": execution_request()["scopes"]}
    refused = await client.post(
        "/v2/canaries/canary", params={"application": "shop"}, json={**body, "executionRequest": no_thresholds}
    )
    assert refused.status == 400 and "thresholds" in await refused.text()
    unknown = await client.post(
        "/v2/canaries/canary", params={"application": "shop", "metricsAccountName": "nope"}, json=body
    )
    assert unknown.status == 400
    assert (await unknown.json())["message"] == "no metrics account named 'nope'; known accounts: prometheus"
    missing = await client.post(
        "/v2/canaries/canary/no-such-config", params={"application": "shop"}, json=execution_request()
    )
    assert missing.status == 404


async def test_running_needs_execute_and_reading_needs_read(secured_canaries: Canaries) -> None:
    client = secured_canaries.client
    restricted = {"READ": ["dev", "ops"], "WRITE": ["ops"], "EXECUTE": ["ops"]}
    await create_application(client, "secret", headers=as_user("admin"), permissions=restricted)
    created = await client.post("/v2/canaryConfig", json=canary_config(application="secret"), headers=as_user("ops"))
    config_id = (await created.json())["canaryConfigId"]
    url, params = f"/v2/canaries/canary/{config_id}", {"application": "secret"}

    denied = await client.post(url, params=params, json=execution_request(), headers=as_user("dev"))
    assert denied.status == 403
    started = await client.post(url, params=params, json=execution_request(), headers=as_user("ops"))
    execution_id = (await started.json())["canaryExecutionId"]
    await completed(client, execution_id, headers=as_user("ops"))
    assert (await client.get(f"/v2/canaries/canary/{execution_id}", headers=as_user("dev"))).status == 200
    hidden = await client.get(f"/v2/canaries/canary/{execution_id}", headers=as_user("outsider"))
    assert hidden.status == 404
    assert (await client.get("/v2/canaries/secret/executions", headers=as_user("outsider"))).status in (403, 404)


def run_canary_stage(config_id: str, after: tuple[str, ...] = ()) -> dict[str, Any]:
    """Spinnaker's runCanary stage: one interval of a kayentaCanary."""
    return {
        "refId": "canary",
        "type": "runCanary",
        "name": "Run Canary #1",
        "requisiteStageRefIds": list(after),
        "canaryConfigId": config_id,
        "metricsAccountName": "prometheus",
        "scopes": execution_request()["scopes"],
        "scoreThresholds": {"pass": 80, "marginal": 60},
    }


async def test_a_pipelines_run_canary_stage_fails_at_or_below_marginal(canaries: Canaries) -> None:
    client = canaries.client
    await create_application(client, "shop")
    config_id = (await (await client.post("/v2/canaryConfig", json=canary_config())).json())["canaryConfigId"]
    await save(client, config("shop", "canary", run_canary_stage(config_id)))
    execution = await finished(client, await trigger(client, "shop", "canary"))
    assert execution["status"] == "TERMINAL"
    canary = by_ref(execution, "canary")
    assert canary["status"] == "TERMINAL"
    assert "Canary score 0 is not above the marginal score threshold 60" in str(canary)
    assert canary["outputs"]["canaryScore"] == 0.0
    report = await (await client.get(f"/v2/canaries/canary/{canary['outputs']['canaryPipelineExecutionId']}")).json()
    assert report["parentPipelineExecutionId"] == execution["id"]


async def test_a_healthy_interval_succeeds_with_its_score(canaries: Canaries) -> None:
    client = canaries.client
    await create_application(client, "shop")
    healthy = canary_config()
    healthy["metrics"][0]["query"]["metricName"] = "steady_latency_seconds"
    rng = np.random.default_rng(9)
    source = canaries.source
    source.put("baseline", "steady_latency_seconds", list(rng.normal(0.1, 0.005, 31)))
    source.put("canary", "steady_latency_seconds", list(rng.normal(0.1, 0.005, 31)))
    config_id = (await (await client.post("/v2/canaryConfig", json=healthy)).json())["canaryConfigId"]
    named = run_canary_stage("")
    del named["canaryConfigId"]
    named["canaryConfigName"] = healthy["name"]  # Orca's ResolveKayentaConfigIdTask finds its id
    await save(client, config("shop", "canary", named))
    execution = await finished(client, await trigger(client, "shop", "canary"))
    canary = by_ref(execution, "canary")
    assert (execution["status"], canary["status"]) == ("SUCCEEDED", "SUCCEEDED"), canary
    assert canary["outputs"]["canaryScore"] == 100.0
    assert canary["outputs"]["warnings"] == [
        "One of the metrics returned fewer than 50 data points, which can reduce confidence in the final canary score."
    ]
    report = await (await client.get(f"/v2/canaries/canary/{canary['outputs']['canaryPipelineExecutionId']}")).json()
    assert report["canaryConfigId"] == config_id

    named["canaryConfigName"] = "no-such-config"
    await save(client, config("shop", "unknown", named))
    execution = await finished(client, await trigger(client, "shop", "unknown"))
    error = by_ref(execution, "canary")["context"]["exception"]["details"]["error"]
    assert error == "Couldn't find a canary configId for configName no-such-config and application shop"


def kayenta_canary_stage(config_id: str, **config: Any) -> dict[str, Any]:
    """Spinnaker's kayentaCanary stage over a past window: three one-minute intervals, no waiting."""
    scope = {
        "controlScope": "baseline",
        "experimentScope": "canary",
        "startTimeIso": "2026-12-02T07:00:00Z",
        "endTimeIso": "2026-12-02T07:03:00Z",
        "step": 10,
    }
    return {
        "refId": "canary",
        "type": "kayentaCanary",
        "name": "Canary Analysis",
        "requisiteStageRefIds": [],
        "canaryConfig": {
            "canaryConfigId": config_id,
            "metricsAccountName": "prometheus",
            "scopes": [scope],
            "canaryAnalysisIntervalMins": "1",
            "scoreThresholds": {"pass": 80, "marginal": 60},
            **config,
        },
    }


def steps(execution: dict[str, Any]) -> dict[str, str]:
    return {stage["name"]: stage["status"] for stage in execution["stages"] if stage.get("parentStageId")}


async def test_a_kayenta_canary_stage_judges_each_interval_and_aggregates(canaries: Canaries) -> None:
    client = canaries.client
    await create_application(client, "shop")
    healthy = canary_config()
    healthy["metrics"][0]["query"]["metricName"] = "steady_latency_seconds"
    rng = np.random.default_rng(3)
    canaries.source.put("baseline", "steady_latency_seconds", list(rng.normal(0.1, 0.005, 31)))
    canaries.source.put("canary", "steady_latency_seconds", list(rng.normal(0.1, 0.005, 31)))
    config_id = (await (await client.post("/v2/canaryConfig", json=healthy)).json())["canaryConfigId"]
    await save(client, config("shop", "canary", kayenta_canary_stage(config_id)))
    execution = await finished(client, await trigger(client, "shop", "canary"))
    canary = by_ref(execution, "canary")
    assert (execution["status"], canary["status"]) == ("SUCCEEDED", "SUCCEEDED"), canary
    assert steps(execution) == {"Run Canary Intervals": "SUCCEEDED"} | {
        f"Run Canary #{n}": "SUCCEEDED" for n in (1, 2, 3)
    }
    assert canary["outputs"]["canaryScores"] == [100.0, 100.0, 100.0]
    assert (
        canary["context"]["canaryScoreMessage"] == "Final canary score 100.0 met or exceeded the pass score threshold."
    )
    runs = [stage for stage in execution["stages"] if stage["type"] == "runCanary"]
    windows = [
        (
            run["context"]["scopes"]["default"]["experimentScope"]["start"],
            run["context"]["scopes"]["default"]["experimentScope"]["end"],
        )
        for run in runs
    ]
    assert windows == [("2026-12-02T07:00:00Z", f"2026-12-02T07:0{n}:00Z") for n in (1, 2, 3)]
    report = await (await client.get(f"/v2/canaries/canary/{runs[2]['outputs']['canaryPipelineExecutionId']}")).json()
    assert report["canaryExecutionRequest"]["scopes"]["default"]["controlScope"]["end"] == "2026-12-02T07:03:00Z"


async def test_a_kayenta_canary_stage_fails_at_the_first_bad_interval(canaries: Canaries) -> None:
    client = canaries.client
    await create_application(client, "shop")
    config_id = (await (await client.post("/v2/canaryConfig", json=canary_config())).json())["canaryConfigId"]
    await save(client, config("shop", "canary", kayenta_canary_stage(config_id)))
    execution = await finished(client, await trigger(client, "shop", "canary"))
    assert execution["status"] == "TERMINAL"
    assert steps(execution) == {
        "Run Canary Intervals": "TERMINAL",
        "Run Canary #1": "TERMINAL",
        "Run Canary #2": "NOT_STARTED",
        "Run Canary #3": "NOT_STARTED",
    }
    first = next(stage for stage in execution["stages"] if stage["name"] == "Run Canary #1")
    assert (
        "Canary score 0 is not above the marginal score threshold 60"
        in first["context"]["exception"]["details"]["error"]
    )
    assert by_ref(execution, "canary")["status"] == "TERMINAL"


async def test_a_run_sent_again_with_its_idempotency_key_is_the_same_run(canaries: Canaries) -> None:
    client = canaries.client
    await create_application(client, "shop")
    config_id = (await (await client.post("/v2/canaryConfig", json=canary_config())).json())["canaryConfigId"]
    url, params = f"/v2/canaries/canary/{config_id}", {"application": "shop", "metricsAccountName": "prometheus"}
    keyed = {"Idempotency-Key": '"release-42"'}
    first = await client.post(url, params=params, json=execution_request(), headers=keyed)
    assert first.status == 200, await first.text()
    execution_id = (await first.json())["canaryExecutionId"]
    await completed(client, execution_id)
    again = await client.post(url, params=params, json=execution_request(), headers=keyed)
    assert (again.status, (await again.json())["canaryExecutionId"]) == (200, execution_id)
    other = await client.post(url, params=params, json=execution_request(end="2026-12-02T07:10:00Z"), headers=keyed)
    assert other.status == 422 and (await other.json())["field"] == "Idempotency-Key"
    listed = await (await client.get("/v2/canaries/shop/executions")).json()
    assert [e["id"] for e in listed] == [execution_id]
    unkeyed = await client.post(url, params=params, json=execution_request())
    assert (await unkeyed.json())["canaryExecutionId"] != execution_id


async def test_a_sequential_kayenta_canary_stops_at_the_interval_that_proves_it_bad(canaries: Canaries) -> None:
    client = canaries.client
    await create_application(client, "shop")
    config_id = (await (await client.post("/v2/canaryConfig", json=canary_config())).json())["canaryConfigId"]
    stage = kayenta_canary_stage(config_id, sequential=True)
    stage["canaryConfig"]["scopes"][0]["endTimeIso"] = "2026-12-02T07:05:00Z"
    del stage["canaryConfig"]["canaryAnalysisIntervalMins"]  # one interval of 31 samples
    await save(client, config("shop", "canary", stage))
    execution = await finished(client, await trigger(client, "shop", "canary"))
    first = next(stage for stage in execution["stages"] if stage["name"] == "Run Canary #1")
    assert (execution["status"], first["status"], first["context"]["sequential"]) == ("TERMINAL", "TERMINAL", True)
    assert first["outputs"]["sequentialResult"]["stop"] is True
    assert first["context"]["exception"]["details"]["error"].startswith("Sequential test: p99 proven worse")
