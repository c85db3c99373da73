"""Kayenta's Mann-Whitney metric classifier: is the canary's series higher, lower, or the same?

The rules of NetflixACAJudge-v1.0, in order:

1. An empty series (after NaN handling): with ``nanStrategy`` ``remove``, ``Nodata`` — or
   ``NodataFailMetric`` when the metric ``mustHaveData`` and is not ``critical`` —, with
   ``replace``, ``Pass``.
2. Identical series (as multisets): ``Pass``, "The Canary and Baseline data are identical".
3. A single distinct value over both: ``Pass``.
4. Otherwise the 98% interval of the shift canary - baseline (Mann-Whitney, see
   :mod:`workers.kayenta.judge.mannwhitney`) against bounds of ±25% of the estimate's size:
   ``High`` when the interval lies above the upper bound and the effect size reaches
   ``allowedIncrease`` (direction ``increase`` or ``either``), ``Low`` symmetrically, else ``Pass``.
   A NaN effect size (a zero mean) skips the effect-size check. When each series holds a single
   distinct value, a tiny Gaussian noise (1e-5 of the value) breaks the ties first, as Kayenta does.
5. Infinite samples (Prometheus's ``+Inf``) are ranked beyond every finite one: before testing,
   ``±Inf`` become finite values one data range past the finite extremes, the same in both
   series. Kayenta feeds them to its root finder as they are and gets an undefined interval
   (a canary full of ``+Inf`` then passes); ranks are all the test needs, so this keeps them.
6. A ``critical`` metric whose High/Low also reaches ``criticalIncrease``/``criticalDecrease``
   is marked critical: it fails the whole canary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from workers.kayenta.judge.mannwhitney import Series, shift_estimate
from workers.kayenta.judge.statistics import effect_size, mean_ratio

TOLERANCE = 0.25
CONFIDENCE = 0.98
NOISE_SCALE = 1e-5


class Direction(StrEnum):
    """Which way a change of the canary is bad (``either`` for any unknown text, as Kayenta parses)."""

    INCREASE = "increase"
    DECREASE = "decrease"
    EITHER = "either"

    @classmethod
    def parse(cls, text: object) -> Direction:
        """The direction named by ``text``; ``either`` for anything else."""
        return cls(text) if text in {d.value for d in cls} else cls.EITHER


class MetricLabel(StrEnum):
    """A metric's classification, spelt as Kayenta's JSON spells it."""

    PASS = "Pass"
    HIGH = "High"
    LOW = "Low"
    NODATA = "Nodata"
    NODATA_FAIL_METRIC = "NodataFailMetric"
    ERROR = "Error"


@dataclass(frozen=True)
class MetricRules:
    """What a metric's ``analysisConfigurations.canary`` says about judging it."""

    direction: Direction = Direction.EITHER
    nan_strategy: str = "remove"
    critical: bool = False
    must_have_data: bool = False
    effect_measure: str = "meanRatio"
    allowed: tuple[float, float] = (1.0, 1.0)
    critical_effect: tuple[float, float] = (1.0, 1.0)
    """Both pairs are ``(decrease, increase)``."""


@dataclass(frozen=True)
class MetricClassification:
    """A metric's label, Kayenta's reason text, the mean ratio it reports, and whether it is critical."""

    label: MetricLabel
    reason: str | None
    ratio: float
    critical: bool


def _noisy(values: Series, rng: np.random.Generator) -> Series:
    scale = float(values[0]) * NOISE_SCALE
    return values + rng.normal(0.0, abs(scale), values.size)


def _finite_ranks(control: Series, experiment: Series) -> tuple[Series, Series]:
    both = np.concatenate((control, experiment))
    finite = both[np.isfinite(both)]
    if finite.size == both.size:
        return control, experiment
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    span = (high - low) or max(abs(high), 1.0)

    def bounded(values: Series) -> Series:
        return np.where(values == np.inf, high + span, np.where(values == -np.inf, low - span, values))

    return bounded(control), bounded(experiment)


def _compare(
    name: str, control: Series, experiment: Series, rules: MetricRules, rng: np.random.Generator
) -> tuple[MetricLabel, str | None, float, float]:
    control, experiment = _finite_ranks(control, experiment)
    if np.unique(experiment).size == 1 and np.unique(control).size == 1:
        experiment, control = _noisy(experiment, rng), _noisy(control, rng)
    shift = shift_estimate(experiment, control, CONFIDENCE)
    bound = TOLERANCE * abs(shift.estimate)
    ratio = mean_ratio(control, experiment)
    effect = effect_size(control, experiment, rules.effect_measure)
    unknown_effect = math.isnan(effect)
    if (
        rules.direction in (Direction.INCREASE, Direction.EITHER)
        and shift.lower > bound
        and (unknown_effect or effect >= rules.allowed[1])
    ):
        return MetricLabel.HIGH, f"{name} was classified as High", ratio, effect
    if (
        rules.direction in (Direction.DECREASE, Direction.EITHER)
        and shift.upper < -bound
        and (unknown_effect or effect <= rules.allowed[0])
    ):
        return MetricLabel.LOW, f"{name} was classified as Low", ratio, effect
    return MetricLabel.PASS, None, ratio, effect


def classify(
    name: str, control: Series, experiment: Series, rules: MetricRules, rng: np.random.Generator | None = None
) -> MetricClassification:
    """Classify the canary's (``experiment``) series against the baseline's (``control``), both NaN-handled.

    Raises what the statistics raise (e.g. an all-tied sample); the judge turns that into ``Error``.
    """
    if experiment.size == 0 or control.size == 0:
        if rules.nan_strategy != "remove":
            return MetricClassification(MetricLabel.PASS, None, 1.0, critical=False)
        missing = f"Missing data for {name}"
        if rules.must_have_data and not rules.critical:
            return MetricClassification(MetricLabel.NODATA_FAIL_METRIC, missing, 1.0, critical=False)
        return MetricClassification(MetricLabel.NODATA, missing, 1.0, critical=rules.critical)
    if np.array_equal(np.sort(experiment), np.sort(control)):
        return MetricClassification(MetricLabel.PASS, "The Canary and Baseline data are identical", 1.0, False)
    if np.unique(np.concatenate((experiment, control))).size == 1:
        return MetricClassification(MetricLabel.PASS, None, 1.0, critical=False)
    label, reason, ratio, effect = _compare(name, control, experiment, rules, rng or np.random.default_rng(0))
    unknown_effect = math.isnan(effect)
    if rules.critical and label is MetricLabel.HIGH and (unknown_effect or effect >= rules.critical_effect[1]):
        return MetricClassification(label, f"The metric {name} was classified as High (Critical)", ratio, True)
    if rules.critical and label is MetricLabel.LOW and (unknown_effect or effect <= rules.critical_effect[0]):
        return MetricClassification(label, f"The metric {name} was classified as Low (Critical)", ratio, True)
    return MetricClassification(label, reason, ratio, critical=False)
