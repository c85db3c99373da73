"""What the judge does to a series before comparing: NaN handling and outlier removal.

``nanStrategy`` ``remove`` (the default) drops NaN samples, ``replace`` turns them into 0.
``outliers.strategy`` ``remove`` drops samples outside the fences of Kayenta's interquartile-range
detector with reduced sensitivity: the wider of Tukey's ``Q1 - k·IQR`` / ``Q3 + k·IQR`` and the
1st/99th percentiles, with ``k = outlierFactor`` (3.0 by default).
"""

from __future__ import annotations

import numpy as np

from workers.kayenta.judge.mannwhitney import Series
from workers.kayenta.judge.statistics import percentile


def handle_nans(values: Series, strategy: str) -> Series:
    """``values`` with NaN removed, or replaced by 0.0 when ``strategy`` is ``replace``."""
    missing = np.isnan(values)
    if strategy == "replace":
        return np.where(missing, 0.0, values)
    return values[~missing]


def outlier_fences(values: Series, factor: float) -> tuple[float, float]:
    """The lower and upper fence; samples strictly outside them are outliers."""
    q1, q3 = percentile(values, 25), percentile(values, 75)
    spread = q3 - q1
    lower = min(percentile(values, 1), q1 - factor * spread)
    upper = max(percentile(values, 99), q3 + factor * spread)
    return lower, upper


def remove_outliers(values: Series, factor: float) -> Series:
    """``values`` without the samples outside :func:`outlier_fences` (NaN fences keep everything NaN-free)."""
    if factor <= 0.0:
        raise ValueError("outlierFactor must be greater than zero")
    if values.size == 0:
        return values
    lower, upper = outlier_fences(values, factor)
    return values[~((values > upper) | (values < lower))]
