"""The descriptive statistics and effect sizes Kayenta's judge reports and classifies with.

Each follows the Apache Commons Math routine Kayenta calls, including its corner cases: the R-7
percentile (linear between order statistics), the sample standard deviation that is 0 for a
single value, the mean ratio that is NaN when either mean is 0, and the common-language effect
size from average ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from workers.kayenta.judge.mannwhitney import Series


def percentile(values: Series, p: float) -> float:
    """The ``p``-th percentile (0 < p <= 100) by R's type-7 rule; NaN for no values."""
    n = values.size
    if n == 0:
        return math.nan
    if n == 1:
        return float(values[0])
    ordered = np.sort(values)
    position = 1.0 + (n - 1) * (p / 100.0)
    if position < 1.0:
        return float(ordered[0])
    if position >= n:
        return float(ordered[-1])
    whole = math.floor(position)
    below, above = float(ordered[whole - 1]), float(ordered[whole])
    return below + (position - whole) * (above - below)


def mean(values: Series) -> float:
    """The arithmetic mean; NaN for no values."""
    return float(np.mean(values)) if values.size else math.nan


@dataclass(frozen=True)
class SeriesStatistics:
    """Kayenta's ``stats`` block of a metric's control or experiment series."""

    min: float
    max: float
    mean: float
    std: float
    count: int

    @classmethod
    def of(cls, values: Series) -> SeriesStatistics:
        """The summary of ``values``; every figure is 0.0 for an empty series, as Kayenta reports."""
        if values.size == 0:
            return cls(min=0.0, max=0.0, mean=0.0, std=0.0, count=0)
        std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
        return cls(
            min=float(np.min(values)),
            max=float(np.max(values)),
            mean=mean(values),
            std=std,
            count=int(values.size),
        )

    def as_json(self) -> dict[str, Any]:
        """The JSON Kayenta puts under ``controlMetadata.stats`` / ``experimentMetadata.stats``."""
        return {"min": self.min, "max": self.max, "mean": self.mean, "std": self.std, "count": self.count}


def mean_ratio(control: Series, experiment: Series) -> float:
    """Experiment mean over control mean; NaN when either is 0 (or a series is empty)."""
    control_mean, experiment_mean = mean(control), mean(experiment)
    if control_mean == 0.0 or experiment_mean == 0.0:
        return math.nan
    return experiment_mean / control_mean


def cles(control: Series, experiment: Series) -> float:
    """The common-language effect size: the share of pairs where the experiment is higher (ties half)."""
    m, n = experiment.size, control.size
    combined = np.sort(np.concatenate((experiment, control)))
    below = np.searchsorted(combined, experiment, side="left")
    through = np.searchsorted(combined, experiment, side="right")
    rank_sum = float(np.sum((below + through + 1) / 2.0))
    return (2.0 * rank_sum - m * (m + 1)) / (2.0 * n * m)


def effect_size(control: Series, experiment: Series, measure: str) -> float:
    """``cles`` when asked for, else the mean ratio (Kayenta's default)."""
    return cles(control, experiment) if measure == "cles" else mean_ratio(control, experiment)
