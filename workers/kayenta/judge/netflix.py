"""NetflixACAJudge-v1.0: a canary config and the fetched metric pairs in, Kayenta's judge result out.

The input and output are Kayenta's JSON: metric configs with ``analysisConfigurations.canary``
(``direction``, ``nanStrategy``, ``critical``, ``mustHaveData``, ``muted``, ``effectSize``,
``outliers``), metric set pairs with ``values.control`` / ``values.experiment``, and a
``CanaryJudgeResult`` with ``score``, ``results[]`` and ``groupScores[]``. Samples may be numbers,
``null`` or the texts ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (how Kayenta's JSON writes them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import structlog

from workers.kayenta.judge.classifier import Direction, MetricClassification, MetricLabel, MetricRules, classify
from workers.kayenta.judge.mannwhitney import Series
from workers.kayenta.judge.scoring import ScoredMetric, score_canary
from workers.kayenta.judge.statistics import SeriesStatistics
from workers.kayenta.judge.transforms import handle_nans, remove_outliers

JUDGE_NAME = "NetflixACAJudge-v1.0"

type Json = dict[str, Any]

log = structlog.get_logger(__name__)


def _setting(config: Mapping[str, Any], *path: str) -> Any:
    node: Any = config.get("analysisConfigurations")
    for part in ("canary", *path):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _number(config: Mapping[str, Any], default: float, *path: str) -> float:
    value = _setting(config, *path)
    if isinstance(value, bool) or value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _flag(config: Mapping[str, Any], *path: str) -> bool:
    value = _setting(config, *path)
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _text(config: Mapping[str, Any], default: str, *path: str) -> str:
    value = _setting(config, *path)
    return value if isinstance(value, str) else default


def metric_rules(config: Mapping[str, Any]) -> MetricRules:
    """The judging rules a metric config's ``analysisConfigurations.canary`` sets (Kayenta's defaults)."""
    measure = _text(config, "meanRatio", "effectSize", "measure")
    neutral = 0.5 if measure == "cles" else 1.0
    return MetricRules(
        direction=Direction.parse(_setting(config, "direction")),
        nan_strategy="replace" if _setting(config, "nanStrategy") == "replace" else "remove",
        critical=_flag(config, "critical"),
        must_have_data=_flag(config, "mustHaveData"),
        effect_measure=measure,
        allowed=(
            _number(config, neutral, "effectSize", "allowedDecrease"),
            _number(config, neutral, "effectSize", "allowedIncrease"),
        ),
        critical_effect=(
            _number(config, neutral, "effectSize", "criticalDecrease"),
            _number(config, neutral, "effectSize", "criticalIncrease"),
        ),
    )


def _sample(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        return {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}.get(
            value.strip().lower(), math.nan
        )
    return float(value)


def series(values: Sequence[Any] | None) -> Series:
    """A metric set's samples as floats, ``null`` and ``"NaN"`` as NaN."""
    if values is None:
        return np.zeros(0)
    try:
        return np.array(values, dtype=np.float64)  # numbers, None and "NaN"/"Infinity" texts
    except (TypeError, ValueError):
        return np.array([_sample(value) for value in values], dtype=np.float64)


def prepare(values: Series, config: Mapping[str, Any]) -> Series:
    """The series after the metric's NaN strategy and outlier removal."""
    rules = metric_rules(config)
    handled = handle_nans(values, rules.nan_strategy)
    if _text(config, "keep", "outliers", "strategy") == "remove":
        return remove_outliers(handled, _number(config, 3.0, "outliers", "outlierFactor"))
    return handled


def judge_metric(config: Mapping[str, Any], pair: Mapping[str, Any]) -> Json:
    """One ``CanaryAnalysisResult``: the metric's classification, its reason, stats and mean ratio."""
    name = str(pair.get("name"))
    values = pair.get("values") or {}
    rules = metric_rules(config)
    result: Json = {
        "name": name,
        "id": pair.get("id"),
        "tags": pair.get("tags") or {},
        "groups": list(config.get("groups") or []),
        "muted": _flag(config, "muted"),
    }
    try:
        control = prepare(series(values.get("control")), config)
        experiment = prepare(series(values.get("experiment")), config)
        result["experimentMetadata"] = {"stats": SeriesStatistics.of(experiment).as_json()}
        result["controlMetadata"] = {"stats": SeriesStatistics.of(control).as_json()}
        outcome: MetricClassification = classify(name, control, experiment, rules)
    except (ArithmeticError, ValueError) as error:
        log.warning("kayenta.metric_classification_failed", metric=name, error=str(error))
        result.setdefault("experimentMetadata", {})
        result.setdefault("controlMetadata", {})
        return {
            **result,
            "classification": MetricLabel.ERROR.value,
            "classificationReason": "Metric Classification Failed",
            "critical": False,
            "resultMetadata": {},
        }
    return {
        **result,
        "classification": outcome.label.value,
        "classificationReason": outcome.reason,
        "critical": outcome.critical,
        "resultMetadata": {"ratio": outcome.ratio},
    }


def judge(canary_config: Mapping[str, Any], thresholds: Mapping[str, Any], pairs: Sequence[Mapping[str, Any]]) -> Json:
    """Kayenta's ``CanaryJudgeResult`` for ``pairs`` judged by ``canary_config`` at ``thresholds`` (pass, marginal).

    A pair whose metric is not in the config is a caller's error (:class:`KeyError` naming it).
    """
    configs = {str(metric.get("name")): metric for metric in canary_config.get("metrics") or []}
    results = []
    for pair in pairs:
        config = configs.get(str(pair.get("name")))
        if config is None:
            raise KeyError(f"Could not find metric config for {pair.get('name')}")
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf in the stats of an infinite series
            results.append(judge_metric(config, pair))
    weights = {str(k): float(v) for k, v in ((canary_config.get("classifier") or {}).get("groupWeights") or {}).items()}
    scored = [
        ScoredMetric(r["classification"], tuple(r["groups"]), bool(r["critical"]), r["classificationReason"])
        for r in results
        if not r["muted"]
    ]
    score = score_canary(scored, weights, float(thresholds.get("pass", 0)), float(thresholds.get("marginal", 0)))
    return {
        "judgeName": JUDGE_NAME,
        "results": results,
        "groupScores": [
            {"name": g.name, "score": g.score, "classification": "", "classificationReason": ""} for g in score.groups
        ]
        or [{}],
        "score": {
            "score": score.score,
            "classification": score.classification,
            "classificationReason": score.reason or "",
        },
    }
