"""Descriptive statistics, effect sizes and outlier removal, against R's and hand-worked figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workers.kayenta.judge.statistics import SeriesStatistics, cles, mean_ratio, percentile
from workers.kayenta.judge.transforms import handle_nans, outlier_fences, remove_outliers

SAMPLE = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 100], dtype=float)


def test_percentiles_are_rs_type_7() -> None:
    # quantile(SAMPLE, c(.01, .25, .75, .99), type = 7) in R
    assert [percentile(SAMPLE, p) for p in (1, 25, 75, 99)] == pytest.approx([1.0, 2.75, 5.25, 89.99], abs=1e-12)
    assert percentile(np.array([7.0]), 25) == 7.0
    assert math.isnan(percentile(np.array([]), 50))


def test_stats_block_uses_the_sample_standard_deviation() -> None:
    stats = SeriesStatistics.of(SAMPLE).as_json()
    expected = {"min": 1.0, "max": 100.0, "mean": 12.0, "std": pytest.approx(27.804512387217098), "count": 12}
    assert stats == expected
    assert SeriesStatistics.of(np.array([4.0])).std == 0.0
    assert SeriesStatistics.of(np.array([])).as_json() == {"min": 0.0, "max": 0.0, "mean": 0.0, "std": 0.0, "count": 0}


def test_mean_ratio_is_nan_when_a_mean_is_zero() -> None:
    assert mean_ratio(np.array([2.0, 2.0]), np.array([3.0, 5.0])) == 2.0
    assert math.isnan(mean_ratio(np.array([0.0, 0.0]), np.array([3.0])))
    assert math.isnan(mean_ratio(np.array([1.0]), np.array([-1.0, 1.0])))


def test_cles_counts_ties_as_half() -> None:
    # experiment (1,2,3,3) over control (2,3,4): pairs above 2, ties 3 of 12 → (2 + 1.5) / 12
    assert cles(np.array([2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 3.0])) == pytest.approx(3.5 / 12)


def test_nan_strategies() -> None:
    values = np.array([1.0, math.nan, 3.0])
    assert handle_nans(values, "remove").tolist() == [1.0, 3.0]
    assert handle_nans(values, "replace").tolist() == [1.0, 0.0, 3.0]


def test_outlier_fences_are_the_wider_of_tukeys_and_the_1st_99th_percentiles() -> None:
    # Q1 2.75, Q3 5.25, IQR 2.5, factor 3: Tukey's fences -4.75 and 12.75; p1 1, p99 89.99
    lower, upper = outlier_fences(SAMPLE, 3.0)
    assert lower == pytest.approx(-4.75)
    assert upper == pytest.approx(89.99)
    assert remove_outliers(SAMPLE, 3.0).tolist() == [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    assert remove_outliers(np.array([]), 3.0).size == 0
    with pytest.raises(ValueError, match="outlierFactor"):
        remove_outliers(SAMPLE, 0.0)
