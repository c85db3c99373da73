"""The in-process metrics source: series held in memory, for ``gennaker up`` demos and tests.

``MemorySource.put(scope, metric_name, values)`` sets what a metric answers for a scope; a
metric config names it by ``query.metricName`` (or the metric's ``name``). The window and step of
the request decide how many samples are returned (the values repeat if the window is longer).
"""

from __future__ import annotations

import math

from workers.kayenta.sources.base import Json, MetricsSourceError, Scope, Series


class MemorySource:
    """A metrics account whose series live in this process."""

    type = "memory"

    def __init__(self, name: str) -> None:
        self.name = name
        self.series: dict[tuple[str, str], list[float]] = {}
        self.failure: str | None = None

    def put(self, scope: str, metric_name: str, values: list[float]) -> None:
        """What ``metric_name`` answers for ``scope`` from now on."""
        self.series[(scope, metric_name)] = list(values)

    async def fetch(self, canary_config: Json, metric: Json, scope: Scope) -> Series:
        """The stored series of the metric for the scope, fitted to its window."""
        if self.failure:
            raise MetricsSourceError(self.failure)
        query: Json = metric.get("query") or {}
        name = str(query.get("metricName") or metric.get("name"))
        stored = self.series.get((scope.scope, name), [])
        count = int((scope.end - scope.start) // scope.step) + 1
        values = [stored[i % len(stored)] for i in range(count)] if stored else []
        return Series(query=f"{name}{{scope={scope.scope}}}", start=scope.start, step=scope.step, values=values)


def finite(value: float) -> float | str:
    """A sample as JSON can carry it: Kayenta writes NaN and infinities as text."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
