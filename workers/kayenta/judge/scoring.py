"""Kayenta's weighted-sum scorer and threshold classifier: from metric labels to one canary score.

* Muted metrics are reported but left out of every score.
* A group's score is ``100 · Pass / (Pass + High + Low + NodataFailMetric)``; a group with none of
  those (only ``Nodata``/``Error``) has no data and counts as 100 in the summary.
* Groups named in ``classifier.groupWeights`` weigh that much; the rest share what is left of 100
  equally. The summary is the weighted sum, rounded half-up to two decimals.
* Any critical metric that did not pass, or 50% or more metrics ``Nodata``, makes the score 0
  with Kayenta's reason text.
* The score is ``Pass`` at or above the pass threshold, ``Marginal`` at or above marginal, else ``Fail``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

NODATA_THRESHOLD = 50


@dataclass(frozen=True)
class ScoredMetric:
    """What the scorer needs of a metric's result."""

    label: str
    groups: tuple[str, ...]
    critical: bool
    reason: str | None


@dataclass(frozen=True)
class GroupScore:
    """One group's score; ``no_data`` when none of its metrics could be judged."""

    name: str
    score: float
    no_data: bool


@dataclass(frozen=True)
class CanaryScore:
    """The summary score, its classification and (for an early failure) the reason."""

    score: float
    classification: str
    reason: str | None
    groups: tuple[GroupScore, ...]


def round_half_up(value: float, places: int = 2) -> float:
    """``value`` rounded half-up at ``places`` decimals of its shortest decimal text."""
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _group_score(name: str, labels: Sequence[str]) -> GroupScore:
    judged = [label for label in labels if label in ("Pass", "High", "Low", "NodataFailMetric")]
    if not judged:
        return GroupScore(name, 0.0, no_data=True)
    return GroupScore(name, judged.count("Pass") / len(judged) * 100, no_data=False)


def group_scores(metrics: Sequence[ScoredMetric]) -> tuple[GroupScore, ...]:
    """Each group's score, groups in the order they first appear."""
    labels: dict[str, list[str]] = {}
    for metric in metrics:
        for group in metric.groups:
            labels.setdefault(group, []).append(metric.label)
    return tuple(_group_score(name, group_labels) for name, group_labels in labels.items())


def summary_score(groups: Sequence[GroupScore], weights: Mapping[str, float]) -> float:
    """The weighted sum of the group scores (no-data groups count 100)."""
    unweighted = {group.name for group in groups} - set(weights)
    shared = (100 - sum(weights.values())) / len(unweighted) if unweighted else 0.0
    total = 0.0
    for group in groups:
        effective = 100.0 if group.no_data else group.score
        total += effective * (weights.get(group.name, shared) / 100)
    return round_half_up(total)


def classify_score(score: float, pass_threshold: float, marginal_threshold: float) -> str:
    """``Pass``, ``Marginal`` or ``Fail``."""
    if score >= pass_threshold:
        return "Pass"
    if score >= marginal_threshold:
        return "Marginal"
    return "Fail"


def score_canary(
    metrics: Sequence[ScoredMetric], weights: Mapping[str, float], pass_threshold: float, marginal_threshold: float
) -> CanaryScore:
    """The canary's score from its unmuted metrics' results."""
    groups = group_scores(metrics)
    failures = [metric for metric in metrics if metric.critical and metric.label != "Pass"]
    nodata = sum(1 for metric in metrics if metric.label == "Nodata")
    reason: str | None = None
    if failures:
        score, reason = 0.0, f"Canary Failed: {failures[0].reason}"
    elif metrics and nodata / len(metrics) * 100 >= NODATA_THRESHOLD:
        score, reason = 0.0, f"Canary Failed: {NODATA_THRESHOLD}% or more metrics returned NODATA"
    else:
        score = summary_score(groups, weights)
    return CanaryScore(score, classify_score(score, pass_threshold, marginal_threshold), reason, groups)
