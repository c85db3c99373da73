"""One canary run: fetch every metric for the control and experiment scopes, then judge.

Shapes are Kayenta's: a metric's ``scopeName`` (``default``) picks the request's
``scopes.<name>.controlScope`` / ``experimentScope`` (``scope``, ``location``, ``start``, ``end``
as ISO-8601, ``step`` in seconds, ``extendedScopeParams``); each metric becomes a
``MetricSetPair`` (``values.control`` / ``values.experiment``, ``scopes``, ``attributes`` with
the query sent); the judge result is NetflixACAJudge-v1.0's. A fetch that fails fails the run
with the source's reason.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

from schemas.json_types import Json
from workers.kayenta.mixer import mix, values_or_gap
from workers.kayenta.sources.base import MetricsSource, MetricsSourceError, Scope
from workers.kayenta.sources.memory import finite

MAX_PARALLEL_FETCHES = 8
MAX_POINTS = 11_000
"""Prometheus's own limit per series of a range query; a longer window must use a larger step."""


class RequestInvalid(ValueError):
    """The execution request cannot be run; ``field`` names what to fix."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.field = field


def _seconds(text: Any, field: str) -> float:
    if isinstance(text, int | float):
        return float(text) / 1000.0
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        raise RequestInvalid(f"{field} must be an ISO-8601 time, got {text!r}", field) from None


def scope_of(request: Json, scope_name: str, side: str) -> Scope:
    """The request's ``scopes.<scope_name>.<side>`` as a :class:`Scope`."""
    field = f"scopes.{scope_name}.{side}"
    given = ((request.get("scopes") or {}).get(scope_name) or {}).get(side)
    if not isinstance(given, dict):
        raise RequestInvalid(f"the execution request has no {field}", field)
    start, end = _seconds(given.get("start"), f"{field}.start"), _seconds(given.get("end"), f"{field}.end")
    step = int(given.get("step") or 60)
    if step < 1:
        raise RequestInvalid("step must be at least 1 second", f"{field}.step")
    if end < start:
        raise RequestInvalid("end must not be before start", f"{field}.end")
    if (end - start) / step > MAX_POINTS:
        raise RequestInvalid(f"the window holds more than {MAX_POINTS} steps; use a larger step", f"{field}.step")
    extended = {str(k): str(v) for k, v in (given.get("extendedScopeParams") or {}).items()}
    return Scope(
        scope=str(given.get("scope") or ""),
        location=str(given.get("location") or ""),
        start=start,
        end=end,
        step=step,
        extended=extended,
    )


def _scope_json(scope: Scope) -> Json:
    return {
        "startTimeMillis": int(scope.start * 1000),
        "startTimeIso": datetime.fromtimestamp(scope.start, UTC).isoformat().replace("+00:00", "Z"),
        "stepMillis": scope.step * 1000,
    }


def _expected(scope: Scope) -> int:
    return int((scope.end - scope.start) // scope.step) + 1


async def fetch_pairs(canary_config: Json, request: Json, source: MetricsSource) -> list[Json]:
    """Every metric's ``MetricSetPair`` (several for a query answering several series, paired by
    tags: :mod:`workers.kayenta.mixer`); raises :class:`MetricsSourceError` with the first failure's reason."""
    gate = asyncio.Semaphore(MAX_PARALLEL_FETCHES)

    async def pairs_of(index: int, metric: Json) -> list[Json]:
        scope_name = str(metric.get("scopeName") or "default")
        control_scope = scope_of(request, scope_name, "controlScope")
        experiment_scope = scope_of(request, scope_name, "experimentScope")
        async with gate:
            control = await source.fetch_all(canary_config, metric, control_scope)
            experiment = await source.fetch_all(canary_config, metric, experiment_scope)
        mixed = mix(control, experiment)
        scopes = {"control": _scope_json(control_scope), "experiment": _scope_json(experiment_scope)}
        attributes = {"control": {"query": control[0].query}, "experiment": {"query": experiment[0].query}}
        return [
            {
                "name": metric.get("name"),
                "id": f"{index}" if len(mixed) == 1 else f"{index}.{number}",
                "tags": pair.tags,
                "values": {
                    "control": [finite(v) for v in values_or_gap(pair.control, _expected(control_scope))],
                    "experiment": [finite(v) for v in values_or_gap(pair.experiment, _expected(experiment_scope))],
                },
                "scopes": scopes,
                "attributes": attributes,
            }
            for number, pair in enumerate(mixed)
        ]

    metrics = list(canary_config.get("metrics") or [])
    found = await asyncio.gather(*(pairs_of(i, m) for i, m in enumerate(metrics)))
    return [pair for pairs in found for pair in pairs]


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as Kayenta's texts, so the JSON is strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return finite(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def judge_pairs(canary_config: Json, request: Json, pairs: list[Json], *, sequential: bool) -> Json:
    """The judge result (and the sequential verdict when asked) for fetched pairs.

    The judges (and NumPy beneath them) are imported at the first judgement, not when Kayenta starts.
    """
    from workers.kayenta.judge import judge
    from workers.kayenta.judge.sequential import sequential_test

    thresholds = request.get("thresholds") or {"pass": 75, "marginal": 50}
    result: Json = {"judgeResult": judge(canary_config, thresholds, pairs)}
    if sequential:
        result["sequentialResult"] = sequential_test(canary_config, pairs)
    safe: Json = json_safe(result)
    return safe


__all__ = ["MetricsSourceError", "RequestInvalid", "fetch_pairs", "judge_pairs", "scope_of"]
