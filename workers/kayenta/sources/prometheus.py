"""Kayenta's Prometheus source: its query building, ``/api/v1/query_range``, and its parsing of the answer.

Query building follows Kayenta's Prometheus service:

* a custom template that expands to ``PromQL:<expr>`` is sent verbatim (without the prefix);
* otherwise ``metricName`` with a label filter ``{...}``: the expanded custom filter's
  comma-separated terms, then the ``labelBindings``; without a custom filter, the
  ``resourceType`` decides (``aws_ec2_instance``: ``asg_groupName="<scope>"`` and
  ``zone=~"<location>.{1}"``; ``gce_instance``: ``instance=~"<scope>-.{4}"`` and the zone regex);
  then ``avg(...)`` and ``by (groupByFields)``.

The range query runs from the scope's start to end at its step. Prometheus's answer is a matrix;
with several series (a ``by`` grouping) each is a metric set of its own, tagged with its labels.
Samples are placed on the step grid, a missing step is NaN, and the texts ``NaN``, ``+Inf`` and
``-Inf`` are the floats Kayenta makes of them. An ``error`` answer fails with Prometheus's text.
"""

from __future__ import annotations

import math
from typing import Any

import aiohttp

from schemas.json_types import Json
from workers.kayenta.sources.base import MetricsSourceError, Scope, Series
from workers.kayenta.sources.templates import custom_filter

SCOPE_LABEL = "instance"
TIMEOUT = aiohttp.ClientTimeout(total=30)


def _resource_filters(resource_type: str, scope: Scope, project: str | None) -> list[str]:
    if resource_type == "gce_instance":
        if not scope.location:
            raise MetricsSourceError("Location (i.e. region) is required when resourceType is 'gce_instance'.")
        filters = [f'{SCOPE_LABEL}=~"{scope.scope}-.{{4}}"'] if scope.scope else []
        zone = ".+/" + (f"projects/{project}/" if project else "") + f"zones/{scope.location}-.{{1}}"
        return [*filters, f'zone=~"{zone}"']
    if resource_type == "aws_ec2_instance":
        if not scope.location:
            raise MetricsSourceError("Location (i.e. region) is required when resourceType is 'aws_ec2_instance'.")
        filters = [f'asg_groupName="{scope.scope}"'] if scope.scope else []
        return [*filters, f'zone=~"{scope.location}.{{1}}"']
    if resource_type:
        raise MetricsSourceError(
            f"There is no explicit support for resourceType '{resource_type}'. You may build whatever query "
            "makes sense for your environment via label bindings and custom filter templates."
        )
    raise MetricsSourceError("Either a resource type or a custom filter is required.")


def build_query(canary_config: Json, metric: Json, scope: Scope) -> str:
    """The PromQL Kayenta would send for ``metric`` over ``scope``."""
    query: Json = metric.get("query") or {}
    expanded = custom_filter(canary_config, query, scope)
    if expanded and expanded.startswith("PromQL:"):
        return expanded[len("PromQL:") :]
    name = query.get("metricName")
    if not name:
        raise MetricsSourceError("Metric Name is required when query type is Default.")
    filters = [str(binding) for binding in query.get("labelBindings") or []]
    if expanded:
        filters = [*expanded.split(","), *filters]
    else:
        filters = [*filters, *_resource_filters(str(query.get("resourceType") or ""), scope, query.get("project"))]
    text = f"avg({name}{{{','.join(filters)}}})" if filters else f"avg({name})"
    group_by = [str(field) for field in query.get("groupByFields") or []]
    return text + (f" by ({','.join(group_by)})" if group_by else "")


def sample(text: Any) -> float:
    """A Prometheus sample value as Kayenta reads it."""
    special = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}
    return special[text] if isinstance(text, str) and text in special else float(text)


def on_grid(points: list[list[Any]], scope: Scope) -> list[float]:
    """The samples placed on the scope's step grid, NaN where Prometheus had none."""
    count = int((scope.end - scope.start) // scope.step) + 1
    values = [math.nan] * max(count, 0)
    for timestamp, value in points:
        index = round((float(timestamp) - scope.start) / scope.step)
        if 0 <= index < count:
            values[index] = sample(value)
    return values


def parse_matrix(answer: Json, query: str, scope: Scope) -> list[Series]:
    """The series of a ``query_range`` answer; an ``error`` answer raises with Prometheus's text."""
    if answer.get("status") != "success":
        raise MetricsSourceError(f"Prometheus refused the query {query!r}: {answer.get('error') or answer}")
    results = (answer.get("data") or {}).get("result") or []
    if not results:
        return [Series(query=query, start=scope.start, step=scope.step, values=[])]
    return [
        Series(
            query=query,
            start=scope.start,
            step=scope.step,
            values=on_grid(result.get("values") or [], scope),
            tags={k: str(v) for k, v in (result.get("metric") or {}).items() if k != "__name__"},
        )
        for result in results
    ]


class PrometheusSource:
    """A Prometheus metrics account reached over HTTP at ``url``."""

    type = "prometheus"

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url.rstrip("/")

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Json:
        try:
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT) as session,
                session.get(f"{self.url}{path}", params=params) as response,
            ):
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            why = str(error) or type(error).__name__
            raise MetricsSourceError(
                f"metrics account {self.name!r} (Prometheus at {self.url}) did not answer: {why}"
            ) from error
        return answer if isinstance(answer, dict) else {}

    async def fetch_all(self, canary_config: Json, metric: Json, scope: Scope) -> list[Series]:
        """Every series the metric's query answers (one per ``by`` group)."""
        query = build_query(canary_config, metric, scope)
        params = {"query": query, "start": f"{scope.start:.3f}", "end": f"{scope.end:.3f}", "step": f"{scope.step}s"}
        return parse_matrix(await self._get("/api/v1/query_range", params), query, scope)

    async def metric_names(self) -> list[str]:
        """Prometheus's metric names (the values of its ``__name__`` label), as Kayenta lists them."""
        answer = await self._get("/api/v1/label/__name__/values")
        if answer.get("status") != "success":
            raise MetricsSourceError(f"Prometheus refused to list its metrics: {answer.get('error') or answer}")
        return [str(name) for name in answer.get("data") or []]

    async def fetch(self, canary_config: Json, metric: Json, scope: Scope) -> Series:
        """The metric's first series (Kayenta's judge takes one per metric and scope)."""
        return (await self.fetch_all(canary_config, metric, scope))[0]
