"""One contract for every metrics source: the real Prometheus (Debian's), Datadog's API (a local
server in tests/, as no Datadog is reachable here) and the in-process twin.

Each source is given the same data — a latency gauge of 0.1 for scope ``baseline`` and 0.3 for
``canary`` — and must answer Kayenta's fetch alike: the samples of the scope's window at its
step in time order (NaN only where the store had nothing yet), nothing for a metric it does not
have, and a clear error when it cannot answer.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from gennaker.host import free_port
from tests.datadog_server import API_KEY, APPLICATION_KEY, datadog_app
from tests.prometheus import start_prometheus, wait_for_samples
from workers.kayenta.sources import MetricsSource, MetricsSourceError, Scope
from workers.kayenta.sources.datadog import DatadogSource
from workers.kayenta.sources.memory import MemorySource
from workers.kayenta.sources.prometheus import PrometheusSource

LATENCY = {"baseline": 0.1, "canary": 0.3}
ERRORS = {("baseline", "200"): 10.0, ("baseline", "500"): 0.1, ("canary", "200"): 10.0, ("canary", "500"): 2.0}
"""Requests per second by scope and status code: a grouped query answers one series per code."""
CONFIG: dict[str, Any] = {"name": "latency", "templates": {"by-group": 'group="${scope}"'}}


def metric(name: str = "demo_latency_seconds") -> dict[str, Any]:
    return {"name": "latency", "query": {"type": "prometheus", "metricName": name, "customFilterTemplate": "by-group"}}


class Harness:
    """A source holding :data:`LATENCY`, since when it has data, and how its metric configs look."""

    def __init__(self, source: MetricsSource, since: float, kind: str = "prometheus") -> None:
        self.source = source
        self.since = since
        self.kind = kind

    def metric(self, name: str = "demo_latency_seconds") -> dict[str, Any]:
        if self.kind == "datadog":
            return {"name": "latency", "query": {"type": "datadog", "metricName": name}}
        return metric(name)

    def window(self, scope: str) -> Scope:
        now = time.time()
        return Scope(scope=scope, location="", start=float(int(self.since)), end=float(int(now)), step=1)


@pytest.fixture(scope="module")
def prometheus_harness() -> Iterator[Harness]:
    registry = CollectorRegistry()
    gauge = Gauge("demo_latency_seconds", "latency", ["group"], registry=registry)
    for group, value in LATENCY.items():
        gauge.labels(group=group).set(value)
    requests = Gauge("demo_requests_per_second", "requests", ["group", "code"], registry=registry)
    for (group, code), value in ERRORS.items():
        requests.labels(group=group, code=code).set(value)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        with start_prometheus([f"127.0.0.1:{port}"]) as url:
            since = wait_for_samples(url, 'demo_latency_seconds{group="canary"}', 3)
            yield Harness(PrometheusSource("prometheus", url), since)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
async def datadog_harness() -> AsyncIterator[Harness]:
    series = {("demo_latency_seconds", scope): value for scope, value in LATENCY.items()}
    runner = web.AppRunner(datadog_app(series))
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        source = DatadogSource("datadog", f"http://127.0.0.1:{port}", API_KEY, APPLICATION_KEY)
        yield Harness(source, time.time() - 4, kind="datadog")
    finally:
        await runner.cleanup()


@pytest.fixture(params=["memory", "prometheus", "datadog"])
def harness(request: pytest.FixtureRequest) -> Harness:
    if request.param in ("prometheus", "datadog"):
        return request.getfixturevalue(f"{request.param}_harness")
    return memory_harness()


def memory_harness() -> Harness:
    memory = MemorySource("memory")
    for group, value in LATENCY.items():
        memory.put(group, "demo_latency_seconds", [value])
    for (group, code), value in ERRORS.items():
        memory.put(group, "demo_requests_per_second", [value], tags={"code": code})
    return Harness(memory, time.time() - 4)


@pytest.mark.parametrize("scope", ["baseline", "canary"])
async def test_a_scope_answers_its_samples_on_the_step_grid(harness: Harness, scope: str) -> None:
    window = harness.window(scope)
    series = await harness.source.fetch(CONFIG, harness.metric(), window)
    assert len(series.values) == int(window.end - window.start) + 1
    present = [value for value in series.values if not math.isnan(value)]
    assert len(present) >= 2
    assert present == pytest.approx([LATENCY[scope]] * len(present))
    first = next(i for i, value in enumerate(series.values) if not math.isnan(value))
    assert all(not math.isnan(value) for value in series.values[first:])


async def test_a_metric_the_store_lacks_answers_nothing(harness: Harness) -> None:
    series = await harness.source.fetch(CONFIG, harness.metric("no_such_metric"), harness.window("baseline"))
    assert [value for value in series.values if not math.isnan(value)] == []


async def test_a_scope_the_store_lacks_answers_nothing(harness: Harness) -> None:
    series = await harness.source.fetch(CONFIG, harness.metric(), harness.window("nobody"))
    assert [value for value in series.values if not math.isnan(value)] == []


@pytest.mark.parametrize("source", ["memory", "prometheus"])
async def test_a_grouped_query_answers_one_tagged_series_per_group(source: str, request: pytest.FixtureRequest) -> None:
    harness = memory_harness() if source == "memory" else request.getfixturevalue("prometheus_harness")
    grouped = metric("demo_requests_per_second")
    grouped["query"]["groupByFields"] = ["code"]
    found = await harness.source.fetch_all(CONFIG, grouped, harness.window("canary"))
    by_code = {series.tags["code"]: series for series in found}
    assert set(by_code) == {"200", "500"} and len(found) == 2
    for code, series in by_code.items():
        present = [value for value in series.values if not math.isnan(value)]
        assert len(present) >= 2 and present == pytest.approx([ERRORS[("canary", code)]] * len(present))
    if source == "prometheus":
        assert found[0].query == 'avg(demo_requests_per_second{group="canary"}) by (code)'


async def test_a_source_lists_the_metrics_it_has(harness: Harness) -> None:
    names = await harness.source.metric_names()
    assert "demo_latency_seconds" in names and "no_such_metric" not in names


async def test_prometheus_sends_kayentas_query(prometheus_harness: Harness) -> None:
    series = await prometheus_harness.source.fetch(CONFIG, metric(), prometheus_harness.window("canary"))
    assert series.query == 'avg(demo_latency_seconds{group="canary"})'


async def test_a_query_prometheus_rejects_fails_with_its_error(prometheus_harness: Harness) -> None:
    verbatim = {
        "name": "x",
        "query": {"type": "prometheus", "customInlineTemplate": "PromQL:rate(demo_latency_seconds"},
    }
    with pytest.raises(MetricsSourceError) as refused:
        await prometheus_harness.source.fetch(CONFIG, verbatim, prometheus_harness.window("canary"))
    assert "Prometheus refused the query 'rate(demo_latency_seconds'" in str(refused.value)
    assert "parse error" in str(refused.value)


async def test_an_account_that_does_not_answer_fails_naming_it() -> None:
    source = PrometheusSource("gone", f"http://127.0.0.1:{free_port()}")
    window = Scope(scope="canary", location="", start=time.time() - 10, end=time.time(), step=1)
    with pytest.raises(
        MetricsSourceError, match=r"metrics account 'gone' \(Prometheus at http://127.0.0.1:\d+\) did not answer"
    ):
        await source.fetch(CONFIG, metric(), window)


async def test_datadog_keys_travel_in_its_headers_and_a_refusal_says_so(datadog_harness: Harness) -> None:
    assert isinstance(datadog_harness.source, DatadogSource)
    wrong = DatadogSource("dd", datadog_harness.source.url, "wrong", APPLICATION_KEY)
    with pytest.raises(MetricsSourceError, match="Datadog refused its keys \\(403\\); check api_key"):
        await wrong.fetch(CONFIG, datadog_harness.metric(), datadog_harness.window("canary"))


async def test_a_query_datadog_rejects_fails_with_its_error(datadog_harness: Harness) -> None:
    verbatim = {"name": "x", "query": {"type": "datadog", "customInlineTemplate": "avg:demo{${scope}"}}
    with pytest.raises(
        MetricsSourceError, match=re.escape("Datadog refused the query 'avg:demo{canary': Error parsing query")
    ):
        await datadog_harness.source.fetch(CONFIG, verbatim, datadog_harness.window("canary"))
