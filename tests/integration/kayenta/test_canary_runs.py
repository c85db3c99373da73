"""Kayenta's worker runs a canary end to end on the bus: fetch, judge, store, announce; refuses what it may not."""

from __future__ import annotations

import asyncio

import numpy as np

from schemas.authority import Authority
from schemas.front50 import ApplicationFound, GetApplication, SaveApplication
from schemas.kayenta import (
    CanaryCompleted,
    CanaryExecutionFound,
    CanaryExecutionList,
    CanaryStarted,
    GetCanaryExecution,
    GetMetricSetPairList,
    KayentaCommandRejected,
    ListCanaryExecutions,
    ListMetricsAccounts,
    MetricsAccountList,
    MetricSetPairListFound,
    RunCanary,
)
from tests.authorities import ADMIN
from tests.integration.kayenta.conftest import KayentaClient, canary_config, execution_request

RNG = np.random.default_rng(11)


def load(client: KayentaClient, *, canary_latency: float, canary_errors: float = 0.01) -> None:
    for metric, baseline, canary in (
        ("latency_p50", 0.10, canary_latency),
        ("latency_p99", 0.30, canary_latency * 3),
        ("errors", 0.01, canary_errors),
    ):
        client.source.put("baseline", metric, list(RNG.normal(baseline, baseline * 0.05, 31)))
        client.source.put("canary", metric, list(RNG.normal(canary, canary * 0.05, 31)))


def run(execution_id: str, authority: Authority = ADMIN, **fields: object) -> RunCanary:
    given = {"canary_config": canary_config(), "execution_request": execution_request(), **fields}
    return RunCanary(execution_id=execution_id, application="shop", authority=authority, **given)


async def test_a_healthy_canary_passes_and_its_report_is_kayentas(kayenta: KayentaClient) -> None:
    load(kayenta, canary_latency=0.10)
    started, completed = await kayenta.send(run("c-1", sequential=True), count=2)
    assert isinstance(started, CanaryStarted) and started.execution_id == "c-1"
    assert isinstance(completed, CanaryCompleted)
    assert (completed.status, completed.classification) == ("succeeded", "Pass")

    found = await kayenta.ask(GetCanaryExecution(execution_id="c-1"))
    assert isinstance(found, CanaryExecutionFound) and found.execution is not None
    execution = found.execution
    assert (execution["complete"], execution["status"], execution["application"]) == (True, "succeeded", "shop")
    judge_result = execution["result"]["judgeResult"]
    assert judge_result["judgeName"] == "NetflixACAJudge-v1.0"
    assert judge_result["score"]["score"] == completed.score
    first = judge_result["results"][0]
    assert first["name"] == "latency_p50" and first["controlMetadata"]["stats"]["count"] == 31
    assert {g["name"] for g in judge_result["groupScores"]} == {"latency", "errors"}
    assert execution["result"]["sequentialResult"]["stop"] is False

    pairs = await kayenta.ask(GetMetricSetPairList(pair_list_id=execution["metricSetPairListId"]))
    assert isinstance(pairs, MetricSetPairListFound) and pairs.pairs is not None
    assert pairs.pairs[0]["attributes"]["control"]["query"] == "latency_p50{scope=baseline}"
    assert len(pairs.pairs[0]["values"]["experiment"]) == 31
    listed = await kayenta.ask(ListCanaryExecutions(application="SHOP"))
    assert isinstance(listed, CanaryExecutionList) and [e["id"] for e in listed.executions] == ["c-1"]


async def test_a_slow_canary_fails_and_the_sequential_test_stops_it(kayenta: KayentaClient) -> None:
    load(kayenta, canary_latency=0.25, canary_errors=0.05)
    _, completed = await kayenta.send(run("c-2", sequential=True), count=2)
    assert isinstance(completed, CanaryCompleted)
    assert (completed.status, completed.classification, completed.score) == ("succeeded", "Fail", 0.0)
    assert completed.sequential_stop is True
    found = await kayenta.ask(GetCanaryExecution(execution_id="c-2"))
    assert isinstance(found, CanaryExecutionFound) and found.execution is not None
    labels = [r["classification"] for r in found.execution["result"]["judgeResult"]["results"]]
    assert labels == ["High", "High", "High"]


async def test_a_failed_fetch_fails_the_run_with_the_sources_reason(kayenta: KayentaClient) -> None:
    kayenta.source.failure = "metrics account 'metrics' did not answer: connection refused"
    _, completed = await kayenta.send(run("c-3"), count=2)
    assert isinstance(completed, CanaryCompleted) and completed.status == "terminal"
    assert completed.reason == "metrics account 'metrics' did not answer: connection refused"
    found = await kayenta.ask(GetCanaryExecution(execution_id="c-3"))
    assert isinstance(found, CanaryExecutionFound) and found.execution is not None
    assert found.execution["exception"] == {"message": completed.reason}


async def test_a_bad_window_fails_naming_the_field(kayenta: KayentaClient) -> None:
    load(kayenta, canary_latency=0.1)
    request = execution_request(start="yesterday")
    _, completed = await kayenta.send(run("c-4", execution_request=request), count=2)
    assert isinstance(completed, CanaryCompleted) and completed.status == "terminal"
    assert completed.reason == "scopes.default.controlScope.start must be an ISO-8601 time, got 'yesterday'"


async def test_only_executors_of_the_application_may_run_it(kayenta: KayentaClient) -> None:
    guarded = {"name": "shop", "email": "a@b.c", "permissions": {"READ": ["dev"], "WRITE": ["ops"], "EXECUTE": ["ops"]}}
    await kayenta.bus.send(SaveApplication(authority=ADMIN, application=guarded))
    async with asyncio.timeout(5):
        while (await kayenta.ask(GetApplication(name="shop"))) == ApplicationFound(application=None):
            await asyncio.sleep(0.05)
    load(kayenta, canary_latency=0.1)
    (refused,) = await kayenta.send(run("c-5", Authority(user="dora", roles=("dev",))))
    assert isinstance(refused, KayentaCommandRejected) and refused.status == 403
    assert refused.reason == "access denied: user 'dora' lacks EXECUTE permission on application 'shop'"
    assert (await kayenta.ask(GetCanaryExecution(execution_id="c-5"))) == CanaryExecutionFound(execution=None)
    _, completed = await kayenta.send(run("c-6", Authority(user="otto", roles=("ops",))), count=2)
    assert isinstance(completed, CanaryCompleted) and completed.status == "succeeded"
    (anonymous,) = await kayenta.send(run("c-7", Authority.nobody()))
    assert isinstance(anonymous, KayentaCommandRejected) and anonymous.status == 403


async def test_an_unknown_account_is_refused_and_accounts_are_listed(kayenta: KayentaClient) -> None:
    (refused,) = await kayenta.send(run("c-8", metrics_account_name="datadog-prod"))
    assert isinstance(refused, KayentaCommandRejected)
    assert (refused.status, refused.field) == (400, "metricsAccountName")
    assert refused.reason == "no metrics account named 'datadog-prod'; known accounts: metrics"
    accounts = await kayenta.ask(ListMetricsAccounts())
    assert isinstance(accounts, MetricsAccountList)
    assert accounts.accounts == [{"name": "metrics", "type": "memory", "supportedTypes": ["METRICS_STORE"]}]


async def test_a_redelivered_run_announces_the_same_result_and_judges_once(kayenta: KayentaClient) -> None:
    load(kayenta, canary_latency=0.1)
    command = run("c-9")
    first = await kayenta.send(command, count=2)
    load(kayenta, canary_latency=0.5)  # the data changes; a second judgment would differ
    again = await kayenta.send(command, count=2)
    assert [type(e) for e in again] == [CanaryStarted, CanaryCompleted]
    assert again[1] == first[1]
    listed = await kayenta.ask(ListCanaryExecutions(application="shop"))
    assert isinstance(listed, CanaryExecutionList) and len(listed.executions) == 1


async def test_a_grouped_metric_is_judged_per_group_and_a_group_one_side_lacks_is_nodata(
    kayenta: KayentaClient,
) -> None:
    load(kayenta, canary_latency=0.1)
    for scope, rates in (("baseline", {"200": 10.0, "500": 0.1}), ("canary", {"200": 10.0, "500": 2.0, "503": 1.0})):
        del kayenta.source.series[(scope, "errors")]  # the query groups by code now
        for code, rate in rates.items():
            kayenta.source.put(scope, "errors", list(RNG.normal(rate, rate * 0.05, 31)), tags={"code": code})
    _, completed = await kayenta.send(run("c-10"), count=2)
    assert isinstance(completed, CanaryCompleted) and completed.status == "succeeded"
    found = await kayenta.ask(GetCanaryExecution(execution_id="c-10"))
    assert isinstance(found, CanaryExecutionFound) and found.execution is not None
    errors = [r for r in found.execution["result"]["judgeResult"]["results"] if r["name"] == "errors"]
    assert [(r["id"], r["tags"], r["classification"]) for r in errors] == [
        ("2.0", {"code": "200"}, "Pass"),
        ("2.1", {"code": "500"}, "High"),
        ("2.2", {"code": "503"}, "Nodata"),
    ]
    pairs = await kayenta.ask(GetMetricSetPairList(pair_list_id="c-10"))
    assert isinstance(pairs, MetricSetPairListFound) and pairs.pairs is not None
    lacking = next(pair for pair in pairs.pairs if pair["id"] == "2.2")
    assert lacking["values"]["control"] == ["NaN"] * 31 and len(lacking["values"]["experiment"]) == 31
