"""Kayenta's PromQL building and its reading of Prometheus's answers, case by case."""

from __future__ import annotations

import math
from typing import Any

import pytest

from workers.kayenta.sources import MetricsSourceError, Scope
from workers.kayenta.sources.prometheus import build_query, parse_matrix

SCOPE = Scope(scope="shop-canary", location="us-east-1", start=100.0, end=104.0, step=1, extended={"env": "prod"})


def query(**fields: Any) -> dict[str, Any]:
    return {"name": "m", "query": {"type": "prometheus", **fields}}


@pytest.mark.parametrize(
    ("config", "fields", "expected"),
    [
        (
            {},
            {"metricName": "up", "resourceType": "aws_ec2_instance"},
            'avg(up{asg_groupName="shop-canary",zone=~"us-east-1.{1}"})',
        ),
        (
            {},
            {"metricName": "up", "resourceType": "gce_instance", "project": "p1"},
            'avg(up{instance=~"shop-canary-.{4}",zone=~".+/projects/p1/zones/us-east-1-.{1}"})',
        ),
        (
            {},
            {"metricName": "up", "customInlineTemplate": 'group="${scope}",env="${env}"'},
            'avg(up{group="shop-canary",env="prod"})',
        ),
        (
            {},
            {"metricName": "up", "customInlineTemplate": 'group="${scope}"', "labelBindings": ['job="app"']},
            'avg(up{group="shop-canary",job="app"})',
        ),
        (
            {},
            {"metricName": "up", "customInlineTemplate": 'g="${scope}"', "groupByFields": ["code", "path"]},
            'avg(up{g="shop-canary"}) by (code,path)',
        ),
        (
            {"templates": {"t": 'region="${location}"'}},
            {"metricName": "up", "customFilterTemplate": "t"},
            'avg(up{region="us-east-1"})',
        ),
        (
            {},
            {"customInlineTemplate": 'PromQL:sum(rate(http_requests_total{group="${scope}"}[1m]))'},
            'sum(rate(http_requests_total{group="shop-canary"}[1m]))',
        ),
    ],
)
def test_queries_are_built_as_kayenta_builds_them(
    config: dict[str, Any], fields: dict[str, Any], expected: str
) -> None:
    assert build_query(config, query(**fields), SCOPE) == expected


@pytest.mark.parametrize(
    ("config", "fields", "message"),
    [
        ({}, {"metricName": "up", "customInlineTemplate": 'g="${color}"'}, "variable 'color' is not defined"),
        (
            {},
            {"metricName": "up", "customFilterTemplate": "t"},
            "Custom filter template 't' was referenced, but no templates were defined.",
        ),
        (
            {"templates": {"x": "a"}},
            {"metricName": "up", "customFilterTemplate": "t"},
            "Custom filter template 't' was not found.",
        ),
        ({}, {"customInlineTemplate": 'g="${scope}"'}, "Metric Name is required when query type is Default."),
        ({}, {"metricName": "up"}, "Either a resource type or a custom filter is required."),
        (
            {},
            {"metricName": "up", "resourceType": "k8s_pod"},
            "There is no explicit support for resourceType 'k8s_pod'.",
        ),
    ],
)
def test_unbuildable_queries_fail_with_kayentas_reason(
    config: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(MetricsSourceError) as refused:
        build_query(config, query(**fields), SCOPE)
    assert message in str(refused.value)


def test_samples_land_on_the_step_grid_with_kayentas_special_values() -> None:
    answer = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": {"code": "500"}, "values": [[100, "1.5"], [101, "NaN"], [103, "+Inf"], [104, "-Inf"]]}
            ],
        },
    }
    (series,) = parse_matrix(answer, "q", SCOPE)
    assert series.values[0] == 1.5
    assert math.isnan(series.values[1]) and math.isnan(series.values[2])  # 102 is missing
    assert series.values[3:] == [math.inf, -math.inf]
    assert series.tags == {"code": "500"}


def test_no_series_is_an_empty_series_and_an_error_carries_prometheus_text() -> None:
    (empty,) = parse_matrix({"status": "success", "data": {"result": []}}, "q", SCOPE)
    assert empty.values == []
    with pytest.raises(MetricsSourceError, match="Prometheus refused the query 'q': bad_data: parse error"):
        parse_matrix({"status": "error", "errorType": "bad_data", "error": "bad_data: parse error"}, "q", SCOPE)
