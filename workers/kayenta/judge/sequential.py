"""An anytime-valid sequential test that ends a clearly bad canary at the first interval proving it.

Orca's classic canary judges every interval with the full judge and fails at the first score at
or below marginal: a test repeated at every interval without correction, so the chance that a
healthy canary fails somewhere grows with the number of intervals. This test stays valid however
often it is looked at (a *mixture sequential probability ratio test*, as in Johari, Pekelis and
Walsh's always-valid p-values and Netflix's published sequential A/B testing):

* Observations are the canary-minus-baseline differences of samples taken at the same instant,
  averaged over blocks of ``block`` consecutive samples (block means tame the autocorrelation of
  scraped time series; a shared load spike cancels in the difference).
* The variance is unknown, so the test mixes over the shift in units of the noise (``θ ~ N(0, r)``)
  and over the noise scale with the scale-invariant prior ``d(sigma)/sigma`` (Lai's sequential t-test).
  For ``n`` observations with sum ``T`` and sum of squares ``S`` the ratio against "no shift" is
  ``Λ = (1 + n r)^(-1/2) · (1 - r T² / ((1 + n r) S))^(-n/2)``. It is a test martingale for
  normal observations whatever their variance, so by Ville's inequality
  ``P(Λ ever ≥ 1/alpha | no shift) ≤ alpha``: the always-valid p-value is ``min over n of 1/Λ``.
* A metric is *proven bad* when its p-value is at or below ``alpha / k`` (``k`` unmuted metrics, so
  the whole canary's false-alarm rate stays at most ``alpha``), the mean moved in the metric's bad
  ``direction``, and the mean ratio breaches the metric's ``allowedIncrease``/``allowedDecrease``.

Every evaluation takes the whole series since the canary began, so it is stateless: the running
minimum over all prefixes is recomputed, and a verdict never depends on when somebody looked.
Validity assumes independent block means; the benchmark (``benchmarks/kayenta.py``) measures the
false-alarm rate on simulated autocorrelated canaries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workers.kayenta.judge.classifier import Direction
from workers.kayenta.judge.mannwhitney import Series
from workers.kayenta.judge.netflix import Json, metric_rules, series
from workers.kayenta.judge.statistics import mean_ratio

DEFAULT_ALPHA = 0.05
DEFAULT_BLOCK = 5
DEFAULT_MIXING = 1.0
MIN_OBSERVATIONS = 2


@dataclass(frozen=True)
class SequentialOptions:
    """The false-alarm rate over the whole canary, the block length and the mixing variance ratio ``r``."""

    alpha: float = DEFAULT_ALPHA
    block: int = DEFAULT_BLOCK
    mixing: float = DEFAULT_MIXING


def paired_blocks(control: Series, experiment: Series, block: int) -> Series:
    """Block means of ``experiment - control`` over the instants where both have a finite sample."""
    length = min(control.size, experiment.size)
    differences = experiment[:length] - control[:length]
    differences = differences[np.isfinite(differences)]
    whole = differences.size // block * block
    return differences[:whole].reshape(-1, block).mean(axis=1) if whole else differences[:0]


def log_mixture_ratios(observations: Series, mixing: float) -> Series:
    """``log Λ`` after each prefix of ``observations``: the scale-invariant normal mixture ratio."""
    n = np.arange(1, observations.size + 1, dtype=np.float64)
    sums = np.cumsum(observations)
    squares = np.cumsum(observations**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        explained = mixing * sums**2 / ((1 + n * mixing) * squares)
        log_ratio = -0.5 * np.log1p(n * mixing) - (n / 2) * np.log1p(-explained)
    return np.where((n >= MIN_OBSERVATIONS) & (squares > 0), log_ratio, -np.inf)


def _bad_direction(direction: Direction, shift: float) -> bool:
    if direction is Direction.INCREASE:
        return shift > 0
    if direction is Direction.DECREASE:
        return shift < 0
    return shift != 0


def _breaches_effect(ratio: float, shift: float, allowed: tuple[float, float]) -> bool:
    if math.isnan(ratio):
        return True
    return ratio >= allowed[1] if shift > 0 else ratio <= allowed[0]


def sequential_metric(
    config: Mapping[str, Any], pair: Mapping[str, Any], level: float, options: SequentialOptions
) -> Json:
    """One metric's sequential result: its always-valid p-value and whether it proves the canary bad."""
    rules = metric_rules(config)
    values = pair.get("values") or {}
    control, experiment = series(values.get("control")), series(values.get("experiment"))
    observations = paired_blocks(control, experiment, options.block)
    log_ratios = log_mixture_ratios(observations, options.mixing)
    best = float(np.max(log_ratios)) if log_ratios.size else -math.inf
    p_value = min(1.0, math.exp(-best)) if best > -math.inf else 1.0
    shift = float(np.mean(observations)) if observations.size else 0.0
    finite = np.isfinite
    ratio = mean_ratio(control[finite(control)], experiment[finite(experiment)])
    bad = p_value <= level and _bad_direction(rules.direction, shift) and _breaches_effect(ratio, shift, rules.allowed)
    return {
        "name": str(pair.get("name")),
        "observations": int(observations.size),
        "shift": shift,
        "ratio": ratio,
        "pValue": p_value,
        "level": level,
        "provenBad": bad,
    }


def sequential_test(
    canary_config: Mapping[str, Any], pairs: Sequence[Mapping[str, Any]], options: SequentialOptions | None = None
) -> Json:
    """The canary's sequential verdict on the series since it began: ``stop`` when a metric is proven bad."""
    chosen = options or SequentialOptions()
    configs = {str(metric.get("name")): metric for metric in canary_config.get("metrics") or []}
    judged = [(configs[str(p.get("name"))], p) for p in pairs if str(p.get("name")) in configs]
    unmuted = [(c, p) for c, p in judged if not _muted(c)]
    level = chosen.alpha / max(1, len(unmuted))
    metrics = [sequential_metric(config, pair, level, chosen) for config, pair in unmuted]
    bad = [metric for metric in metrics if metric["provenBad"]]
    reason = (
        f"Sequential test: {bad[0]['name']} proven worse than the baseline "
        f"(always-valid p = {bad[0]['pValue']:.2g} <= {level:.2g})"
        if bad
        else ""
    )
    return {"alpha": chosen.alpha, "stop": bool(bad), "reason": reason, "metrics": metrics}


def _muted(config: Mapping[str, Any]) -> bool:
    canary = (config.get("analysisConfigurations") or {}).get("canary") or {}
    return bool(canary.get("muted"))
