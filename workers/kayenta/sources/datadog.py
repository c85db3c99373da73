"""Kayenta's Datadog source: the metrics query API (``GET /api/v1/query``) with an account's keys.

The query is Kayenta's: the expanded custom template when there is one (it is the whole query),
else ``<metricName>{<scope>}``. The window is ``from``/``to`` in epoch seconds; the keys travel
in the ``DD-API-KEY`` and ``DD-APPLICATION-KEY`` headers (never logged, never in a reply). Each
series of the answer's ``series`` is a metric set whose values are its ``pointlist`` values in
order (``null`` is NaN), as Kayenta reads them; no series is an empty one. An ``errors`` answer
fails with Datadog's text.
"""

from __future__ import annotations

import math
import time
from typing import Any

import aiohttp

from schemas.json_types import Json
from workers.kayenta.sources.base import MetricsSourceError, Scope, Series
from workers.kayenta.sources.templates import custom_filter

TIMEOUT = aiohttp.ClientTimeout(total=30)


def build_query(canary_config: Json, metric: Json, scope: Scope) -> str:
    """The Datadog query Kayenta would send for ``metric`` over ``scope``."""
    query: Json = metric.get("query") or {}
    expanded = custom_filter(canary_config, query, scope)
    return expanded if expanded else f"{query.get('metricName')}{{{scope.scope}}}"


def _value(point: Any) -> float:
    value = point[1] if isinstance(point, list | tuple) and len(point) > 1 else None
    return math.nan if value is None else float(value)


def parse_series(answer: Json, query: str, scope: Scope) -> list[Series]:
    """The metric sets of a ``/api/v1/query`` answer."""
    if answer.get("errors") or answer.get("status") == "error":
        raise MetricsSourceError(
            f"Datadog refused the query {query!r}: {'; '.join(map(str, answer.get('errors') or [answer.get('error')]))}"
        )
    found = [
        Series(
            query=query,
            start=float(entry.get("start", scope.start * 1000)) / 1000,
            step=int(entry.get("interval") or scope.step),
            values=[_value(point) for point in entry.get("pointlist") or []],
            tags={str(tag).partition(":")[0]: str(tag).partition(":")[2] for tag in entry.get("tag_set") or []},
        )
        for entry in answer.get("series") or []
    ]
    return found or [Series(query=query, start=scope.start, step=1, values=[])]


class DatadogSource:
    """A Datadog metrics account at ``url`` (``https://api.datadoghq.com`` or a regional site)."""

    type = "datadog"

    def __init__(self, name: str, url: str, api_key: str, application_key: str) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self._headers = {"DD-API-KEY": api_key, "DD-APPLICATION-KEY": application_key}

    async def fetch(self, canary_config: Json, metric: Json, scope: Scope) -> Series:
        """The metric's first series over the scope's window."""
        return (await self.fetch_all(canary_config, metric, scope))[0]

    async def fetch_all(self, canary_config: Json, metric: Json, scope: Scope) -> list[Series]:
        """Every series (tag set) of the answer over the scope's window."""
        query = build_query(canary_config, metric, scope)
        params = {"from": str(int(scope.start)), "to": str(int(scope.end)), "query": query}
        return parse_series(await self._get("/api/v1/query", params), query, scope)

    async def metric_names(self) -> list[str]:
        """The metrics that reported in the last hour (Datadog's active metrics list), as Kayenta lists them."""
        answer = await self._get("/api/v1/metrics", {"from": str(int(time.time()) - 3600)})
        if answer.get("errors"):
            raise MetricsSourceError(f"Datadog refused to list its metrics: {'; '.join(map(str, answer['errors']))}")
        return [str(name) for name in answer.get("metrics") or []]

    async def _get(self, path: str, params: dict[str, str]) -> Json:
        try:
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT, headers=self._headers) as session,
                session.get(f"{self.url}{path}", params=params) as response,
            ):
                answer = await response.json(content_type=None)
                if response.status in (401, 403):
                    raise MetricsSourceError(
                        f"metrics account {self.name!r}: Datadog refused its keys ({response.status}); "
                        "check api_key and application_key"
                    )
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            why = str(error) or type(error).__name__
            raise MetricsSourceError(
                f"metrics account {self.name!r} (Datadog at {self.url}) did not answer: {why}"
            ) from error
        return answer if isinstance(answer, dict) else {}
