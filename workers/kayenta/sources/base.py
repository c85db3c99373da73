"""The seam between Kayenta and a metrics store: fetch one metric's series for one scope.

A source answers :meth:`MetricsSource.fetch_all` with one series per group of the answer (each
tagged with its labels) and :meth:`MetricsSource.fetch` with the first: the samples of the metric over the scope's
window at the scope's step, ``NaN`` where the store has no sample, in time order. It raises
:class:`MetricsSourceError` with a text a user can act on (the store's own error, "did not
answer", an undefined template variable): the canary run fails with that reason, never
silently as "no data".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from schemas.json_types import Json


class MetricsSourceError(Exception):
    """The metrics store could not answer the query; the message says why and what to check."""


@dataclass(frozen=True)
class Scope:
    """Kayenta's ``CanaryScope``: what to select (``scope``, ``location``) and when (epoch seconds)."""

    scope: str
    location: str
    start: float
    end: float
    step: int
    extended: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Series:
    """One fetched series: the query as sent, the sample times and the values (NaN for a gap)."""

    query: str
    start: float
    step: int
    values: list[float]
    tags: dict[str, str] = field(default_factory=dict)


class MetricsSource(Protocol):
    """One metrics account."""

    name: str
    type: str

    async def fetch(self, canary_config: Json, metric: Json, scope: Scope) -> Series:
        """The series of ``metric`` (a metric config of ``canary_config``) over ``scope``; the first
        when the query answers several."""
        ...

    async def fetch_all(self, canary_config: Json, metric: Json, scope: Scope) -> list[Series]:
        """Every series the query answers (one per group or tag set, each with its ``tags``); one
        series without tags or values when it answers none."""
        ...

    async def metric_names(self) -> list[str]:
        """The names of the metrics the store has (for the metric picker), or the error why not."""
        ...
