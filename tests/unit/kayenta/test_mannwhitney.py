"""The Mann-Whitney interval and estimate against figures R 4.2 printed for the same samples.

Reference figures came from ``wilcox.test(x, y, conf.int=TRUE, exact=FALSE, correct=TRUE,
conf.level=0.98)`` (interval, and R's estimate, which R finds without the continuity correction)
and from ``uniroot(tol=1e-4)`` over R's own statistic *with* the correction (Kayenta's estimate),
printed with ``%.17g``. They agree to the last bit, which a different root finder would not give.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from workers.kayenta.judge.mannwhitney import AllTied, shift_estimate, standardized_statistic
from workers.kayenta.judge.zeroin import zeroin

CASES = [
    pytest.param(
        [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46],
        [1.15, 0.88, 0.90, 0.74, 1.21],
        (-0.31999721322183022, 0.98994618206203366, 0.30250833904157232, 0.30014867694941327),
        id="R's depression example",
    ),
    pytest.param(
        [1, 2, 2, 3, 5, 8],
        [2, 3, 3, 4],
        (-3.0, 6.0, -4.9936667084396407e-06, -6.0476111743052591e-05),
        id="ties within and across samples",
    ),
    pytest.param(
        [10.5, 11.2, 12.9, 10.1, 13.3, 12.2, 11.8, 14.0],
        [10.0, 9.7, 10.4, 10.9, 9.9, 10.2, 10.6, 10.3],
        (0.19998828658898674, 3.3000295070259407, 1.7999988832511877, 1.8000563525856648),
        id="a clear upward shift",
    ),
]


@pytest.mark.parametrize(("x", "y", "expected"), CASES)
def test_interval_and_estimates_equal_rs(x: list[float], y: list[float], expected: tuple[float, ...]) -> None:
    lower, upper, r_estimate, kayenta_estimate = expected
    xs, ys = np.array(x, dtype=float), np.array(y, dtype=float)

    kayenta = shift_estimate(xs, ys, 0.98)
    r = shift_estimate(xs, ys, 0.98, correct_estimate=False)

    assert (kayenta.lower, kayenta.upper, kayenta.estimate) == (lower, upper, kayenta_estimate)
    assert (r.lower, r.upper, r.estimate) == (lower, upper, r_estimate)


def test_the_statistic_is_zero_mean_at_the_median_shift_and_signed() -> None:
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])
    assert standardized_statistic(0.0, x, y) == 0.0
    # every x above every y: W = 9, mean 4.5, corrected by 0.5, sd sqrt(3*3/12*7) = sqrt(5.25)
    assert standardized_statistic(-10.0, x, y) == pytest.approx(4.0 / math.sqrt(5.25))
    assert standardized_statistic(10.0, x, y) == pytest.approx(-4.0 / math.sqrt(5.25))
    assert standardized_statistic(-10.0, x, y, correct=False) == pytest.approx(4.5 / math.sqrt(5.25))


def test_all_tied_samples_have_no_interval() -> None:
    with pytest.raises(AllTied):
        standardized_statistic(0.0, np.array([2.0, 2.0]), np.array([2.0]))


def test_zeroin_finds_a_smooth_root_to_its_tolerance() -> None:
    def f(x: float) -> float:
        return math.cos(x) - x

    root = zeroin(f, 0.0, 1.0, f(0.0), f(1.0), tolerance=1e-10)
    assert root == pytest.approx(0.7390851332151607, abs=1e-10)


def test_zeroin_returns_an_end_that_is_already_a_root() -> None:
    assert zeroin(lambda x: x, 0.0, 1.0, 0.0, 1.0) == 0.0
    assert zeroin(lambda x: x - 1.0, 0.0, 1.0, -1.0, 0.0) == 1.0
