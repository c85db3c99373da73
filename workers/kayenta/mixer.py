"""Kayenta's metric set mixer: a metric's control and experiment series paired by their tags.

A query may answer several series (Prometheus's ``by (...)`` groups, Datadog's tag sets), each a
metric set of its own, so one metric may judge as several results. The pairing is Kayenta's
``MetricSetMixerService``: when one side answered no data (its only series has no tags) every
series of the other side is paired with a side of NaN; otherwise series are paired tag set for tag
set, and a tag set one side lacks gets NaN there (so that group is Nodata, never Pass). Pairs come
in the order their tags first appear, the control's first (Kayenta's order is a hash set's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from workers.kayenta.sources.base import Series


@dataclass(frozen=True)
class MixedPair:
    """One tag set's control and experiment series (``None``: that side had no series with these tags)."""

    tags: dict[str, str]
    control: Series | None
    experiment: Series | None


def _key(tags: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(tags.items()))


def mix(control: Sequence[Series], experiment: Sequence[Series]) -> list[MixedPair]:
    """The pairs of one metric's series; each side holds at least one series (maybe empty)."""
    control_by = {_key(series.tags): series for series in reversed(control)}
    experiment_by = {_key(series.tags): series for series in reversed(experiment)}
    control_untagged, experiment_untagged = () in control_by, () in experiment_by
    if control_untagged and not experiment_untagged:
        return [MixedPair(dict(series.tags), None, series) for series in _unique(experiment)]
    if experiment_untagged and not control_untagged:
        return [MixedPair(dict(series.tags), series, None) for series in _unique(control)]
    keys = list(dict.fromkeys([*(_key(s.tags) for s in control), *(_key(s.tags) for s in experiment)]))
    return [MixedPair(dict(key), control_by.get(key), experiment_by.get(key)) for key in keys]


def _unique(found: Sequence[Series]) -> list[Series]:
    first: dict[tuple[tuple[str, str], ...], Series] = {}
    for series in found:
        first.setdefault(_key(series.tags), series)
    return list(first.values())


def values_or_gap(series: Series | None, expected: int) -> list[float]:
    """A side's samples, or ``expected`` NaNs for a side that had no series with the pair's tags."""
    return list(series.values) if series is not None else [math.nan] * expected
