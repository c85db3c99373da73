"""The in-process metrics source: series held in memory, for ``gennaker up`` demos and tests.

``MemorySource.put(scope, metric_name, values)`` sets what a metric answers for a scope (with
``tags``, one more series of the metric: what a grouped query would answer); a metric config
names it by ``query.metricName`` (or the metric's ``name``). The window and step of
the request decide how many samples are returned (the values repeat if the window is longer).
"""

from __future__ import annotations

import math

from schemas.json_types import Json
from workers.kayenta.sources.base import MetricsSourceError, Scope, Series


class MemorySource:
    """A metrics account whose series live in this process."""

    type = "memory"

    def __init__(self, name: str) -> None:
        self.name = name
        self.series: dict[tuple[str, str], dict[tuple[tuple[str, str], ...], list[float]]] = {}
        self.failure: str | None = None

    def put(self, scope: str, metric_name: str, values: list[float], tags: dict[str, str] | None = None) -> None:
        """What ``metric_name`` answers for ``scope`` (and ``tags``) from now on."""
        stored = self.series.setdefault((scope, metric_name), {})
        stored[tuple(sorted((tags or {}).items()))] = list(values)

    async def metric_names(self) -> list[str]:
        """Every metric name stored, in order."""
        if self.failure:
            raise MetricsSourceError(self.failure)
        return sorted({name for _, name in self.series})

    async def fetch(self, canary_config: Json, metric: Json, scope: Scope) -> Series:
        """The stored series of the metric for the scope, fitted to its window."""
        return (await self.fetch_all(canary_config, metric, scope))[0]

    async def fetch_all(self, canary_config: Json, metric: Json, scope: Scope) -> list[Series]:
        """Every stored series of the metric for the scope (one per tag set), fitted to its window."""
        if self.failure:
            raise MetricsSourceError(self.failure)
        query: Json = metric.get("query") or {}
        name = str(query.get("metricName") or metric.get("name"))
        text = f"{name}{{scope={scope.scope}}}"
        count = int((scope.end - scope.start) // scope.step) + 1
        stored = self.series.get((scope.scope, name)) or {(): []}
        return [
            Series(
                query=text,
                start=scope.start,
                step=scope.step,
                values=[values[i % len(values)] for i in range(count)] if values else [],
                tags=dict(tags),
            )
            for tags, values in stored.items()
        ]


def finite(value: float) -> float | str:
    """A sample as JSON can carry it: Kayenta writes NaN and infinities as text."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
