"""NetflixACAJudge-v1.0 end to end on Kayenta's JSON: labels, reasons, criticality, groups and scores."""

from __future__ import annotations

import math
from typing import Any

import pytest

from workers.kayenta.judge import JUDGE_NAME, judge
from workers.kayenta.judge.scoring import GroupScore, ScoredMetric, round_half_up, score_canary, summary_score

BASELINE = [10.0, 9.7, 10.4, 10.9, 9.9, 10.2, 10.6, 10.3]
HIGHER = [14.5, 15.2, 16.9, 14.1, 17.3, 16.2, 15.8, 18.0]
LOWER = [5.5, 6.2, 4.9, 6.1, 5.3, 5.2, 4.8, 6.0]
THRESHOLDS = {"pass": 75, "marginal": 50}


def metric(name: str, groups: tuple[str, ...] = ("latency",), **canary: Any) -> dict[str, Any]:
    return {
        "name": name,
        "query": {"type": "prometheus"},
        "groups": list(groups),
        "analysisConfigurations": {"canary": canary},
    }


def pair(name: str, control: list[Any], experiment: list[Any]) -> dict[str, Any]:
    return {"name": name, "id": f"id-{name}", "tags": {}, "values": {"control": control, "experiment": experiment}}


def run(metrics: list[dict[str, Any]], pairs: list[dict[str, Any]], **classifier: Any) -> dict[str, Any]:
    return judge({"name": "c", "metrics": metrics, "classifier": classifier}, THRESHOLDS, pairs)


def only(result: dict[str, Any]) -> dict[str, Any]:
    (single,) = result["results"]
    return single


@pytest.mark.parametrize(
    ("canary", "control", "experiment", "label", "reason"),
    [
        ({}, BASELINE, HIGHER, "High", "m was classified as High"),
        ({}, BASELINE, LOWER, "Low", "m was classified as Low"),
        ({"direction": "decrease"}, BASELINE, HIGHER, "Pass", None),
        ({"direction": "increase"}, BASELINE, LOWER, "Pass", None),
        ({"direction": "increase"}, BASELINE, HIGHER, "High", "m was classified as High"),
        ({}, BASELINE, list(reversed(BASELINE)), "Pass", "The Canary and Baseline data are identical"),
        ({}, BASELINE, [b + 0.01 for b in BASELINE], "Pass", None),
        ({}, [], HIGHER, "Nodata", "Missing data for m"),
        ({}, BASELINE, ["NaN", None], "Nodata", "Missing data for m"),
        ({"nanStrategy": "replace"}, BASELINE, [], "Pass", None),
        ({"mustHaveData": True}, BASELINE, [], "NodataFailMetric", "Missing data for m"),
        ({"mustHaveData": True, "critical": True}, BASELINE, [], "Nodata", "Missing data for m"),
        ({"effectSize": {"allowedIncrease": 1.6}}, BASELINE, HIGHER, "Pass", None),
        ({"effectSize": {"allowedIncrease": 1.5}}, BASELINE, HIGHER, "High", "m was classified as High"),
        (
            {"effectSize": {"measure": "cles", "allowedIncrease": 0.9}},
            BASELINE,
            HIGHER,
            "High",
            "m was classified as High",
        ),
        ({"critical": True}, BASELINE, HIGHER, "High", "The metric m was classified as High (Critical)"),
        ({"critical": True}, BASELINE, LOWER, "Low", "The metric m was classified as Low (Critical)"),
        ({}, [5.0] * 6, [5.0] * 4, "Pass", None),
        ({}, [5.0] * 6, [9.0] * 6, "High", "m was classified as High"),
    ],
)
def test_metric_classification(
    canary: dict[str, Any], control: list[Any], experiment: list[Any], label: str, reason: str | None
) -> None:
    result = only(run([metric("m", **canary)], [pair("m", control, experiment)]))
    assert (result["classification"], result["classificationReason"]) == (label, reason)


def test_result_carries_stats_ratio_and_identity() -> None:
    result = only(run([metric("m")], [pair("m", BASELINE, HIGHER)]))
    assert result["id"] == "id-m"
    assert result["groups"] == ["latency"]
    assert result["experimentMetadata"]["stats"]["count"] == len(HIGHER)
    assert result["controlMetadata"]["stats"]["mean"] == pytest.approx(sum(BASELINE) / len(BASELINE))
    assert result["resultMetadata"]["ratio"] == pytest.approx(sum(HIGHER) / sum(BASELINE))
    assert result["critical"] is False


def test_critical_only_beyond_the_critical_effect_size() -> None:
    soft: dict[str, Any] = {"critical": True, "effectSize": {"criticalIncrease": 2.0}}
    result = only(run([metric("m", **soft)], [pair("m", BASELINE, HIGHER)]))
    assert (result["classification"], result["critical"]) == ("High", False)


def test_infinite_samples_rank_above_every_finite_one() -> None:
    high = only(run([metric("m")], [pair("m", BASELINE, [*HIGHER[:-2], "Infinity", "Infinity"])]))
    assert high["classification"] == "High"
    assert high["experimentMetadata"]["stats"]["max"] == math.inf
    low = only(run([metric("m")], [pair("m", BASELINE, ["-Infinity"] * 8)]))
    assert low["classification"] == "Low"
    one = only(run([metric("m")], [pair("m", BASELINE, [*BASELINE[:-1], "Infinity"])]))
    assert one["classification"] == "Pass"


def test_outliers_removed_before_judging() -> None:
    spiky = [*BASELINE, 1000.0]
    kept = only(run([metric("m")], [pair("m", BASELINE, spiky)]))
    removed = only(run([metric("m", outliers={"strategy": "remove"})], [pair("m", BASELINE, spiky)]))
    assert kept["experimentMetadata"]["stats"]["max"] == 1000.0
    assert removed["experimentMetadata"]["stats"]["max"] < 1000.0


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(KeyError, match="Could not find metric config for other"):
        run([metric("m")], [pair("other", BASELINE, HIGHER)])


def test_summary_score_shares_weight_among_unweighted_groups() -> None:
    metrics = [metric("a", ("g1",)), metric("b", ("g2",)), metric("c", ("g3",)), metric("d", ("g3",))]
    pairs = [
        pair("a", BASELINE, HIGHER),
        pair("b", BASELINE, BASELINE),
        pair("c", BASELINE, BASELINE),
        pair("d", BASELINE, LOWER),
    ]
    result = run(metrics, pairs, groupWeights={"g1": 40})
    # g1 0 (weight 40), g2 100 and g3 50 share 60: 0 + 30 + 15
    assert result["score"] == {"score": 45.0, "classification": "Fail", "classificationReason": ""}
    assert [(g["name"], g["score"]) for g in result["groupScores"]] == [("g1", 0.0), ("g2", 100.0), ("g3", 50.0)]
    assert result["judgeName"] == JUDGE_NAME


def test_muted_metrics_are_reported_but_not_scored() -> None:
    metrics = [metric("a"), metric("b", muted=True)]
    result = run(metrics, [pair("a", BASELINE, BASELINE), pair("b", BASELINE, HIGHER)])
    assert [r["classification"] for r in result["results"]] == ["Pass", "High"]
    assert result["results"][1]["muted"] is True
    assert result["score"]["score"] == 100.0
    assert result["score"]["classification"] == "Pass"


def test_a_critical_failure_zeroes_the_score() -> None:
    metrics = [metric("a", critical=True), metric("b")]
    result = run(metrics, [pair("a", BASELINE, HIGHER), pair("b", BASELINE, BASELINE)])
    assert result["score"]["score"] == 0.0
    assert result["score"]["classificationReason"] == "Canary Failed: The metric a was classified as High (Critical)"


def test_half_nodata_fails_the_canary() -> None:
    metrics = [metric("a"), metric("b")]
    result = run(metrics, [pair("a", BASELINE, []), pair("b", BASELINE, BASELINE)])
    assert result["score"] == {
        "score": 0.0,
        "classification": "Fail",
        "classificationReason": "Canary Failed: 50% or more metrics returned NODATA",
    }


def test_marginal_between_thresholds() -> None:
    metrics = [metric(name) for name in "abc"] + [metric("d")]
    pairs = [pair(n, BASELINE, BASELINE) for n in "abc"] + [pair("d", BASELINE, HIGHER)]
    assert run(metrics, pairs)["score"]["score"] == 75.0
    assert judge({"metrics": metrics}, {"pass": 80, "marginal": 70}, pairs)["score"]["classification"] == "Marginal"


def test_nodata_groups_count_full_and_scores_round_half_up() -> None:
    groups = [GroupScore("a", 0.0, no_data=True), GroupScore("b", 100 / 3, no_data=False)]
    assert summary_score(groups, {}) == 66.67
    assert round_half_up(0.125) == 0.13
    assert round_half_up(2.675) == 2.68
    empty = score_canary([], {}, 75, 50)
    assert (empty.score, empty.classification) == (0.0, "Fail")
    only_error = score_canary([ScoredMetric("Error", ("g",), False, None)], {}, 75, 50)
    assert only_error.score == 100.0
