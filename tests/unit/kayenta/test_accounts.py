"""Metrics accounts from the settings, and Datadog's query building."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gennaker.settings import Settings
from schemas.kayenta import MetricsAccountConfig
from workers.kayenta.accounts import build_sources, credentials
from workers.kayenta.sources import Scope
from workers.kayenta.sources.datadog import DatadogSource, build_query

SCOPE = Scope(scope="app:shop,group:canary", location="", start=0, end=60, step=10)


def test_accounts_come_from_the_settings_and_never_show_a_secret() -> None:
    settings = Settings(
        kayenta={
            "accounts": [
                {"name": "prom", "type": "prometheus", "url": "http://127.0.0.1:9090"},
                {"name": "dd", "type": "datadog", "api_key": "s3cret-api", "application_key": "s3cret-app"},
            ]
        }
    )
    sources = build_sources(settings.kayenta.accounts)
    assert list(sources) == ["prom", "dd"]
    dd = sources["dd"]
    assert isinstance(dd, DatadogSource) and dd.url == "https://api.datadoghq.com"
    listed = credentials(sources)
    assert [(a["name"], a["type"]) for a in listed] == [("prom", "prometheus"), ("dd", "datadog")]
    assert "s3cret" not in str(listed) and "s3cret" not in repr(settings)


def test_a_datadog_account_needs_both_keys_and_a_type_must_be_known() -> None:
    with pytest.raises(ValueError, match="needs api_key and application_key"):
        build_sources([MetricsAccountConfig(name="dd", type="datadog", api_key="k")])
    with pytest.raises(ValidationError):
        MetricsAccountConfig(name="x", type="graphite")


def test_datadog_queries_are_kayentas() -> None:
    plain = {"name": "m", "query": {"type": "datadog", "metricName": "trace.http.request.duration"}}
    assert build_query({}, plain, SCOPE) == "trace.http.request.duration{app:shop,group:canary}"
    custom = {"name": "m", "query": {"type": "datadog", "customInlineTemplate": "avg:errors{${scope}}.as_rate()"}}
    assert build_query({}, custom, SCOPE) == "avg:errors{app:shop,group:canary}.as_rate()"
