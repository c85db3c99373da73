"""Kayenta's metrics accounts from the settings (``[[kayenta.accounts]]``), as sources to fetch from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.kayenta import MetricsAccountConfig
from workers.kayenta.sources.base import MetricsSource
from workers.kayenta.sources.datadog import DatadogSource
from workers.kayenta.sources.memory import MemorySource
from workers.kayenta.sources.prometheus import PrometheusSource

SUPPORTED_TYPES = ["METRICS_STORE"]


def build_sources(accounts: Sequence[MetricsAccountConfig]) -> dict[str, MetricsSource]:
    """One source per configured account, by name, in the settings' order (the first is the default)."""
    sources: dict[str, MetricsSource] = {}
    for account in accounts:
        if account.type == "prometheus":
            sources[account.name] = PrometheusSource(account.name, account.url)
        elif account.type == "datadog":
            if account.api_key is None or account.application_key is None:
                raise ValueError(
                    f"kayenta account {account.name!r}: a datadog account needs api_key and application_key"
                )
            url = account.url or "https://api.datadoghq.com"
            keys = (account.api_key.get_secret_value(), account.application_key.get_secret_value())
            sources[account.name] = DatadogSource(account.name, url, *keys)
        else:
            sources[account.name] = MemorySource(account.name)
    return sources


def credentials(sources: dict[str, MetricsSource]) -> list[dict[str, Any]]:
    """Kayenta's ``/credentials`` answer: name, type and supported types; never a secret."""
    return [{"name": name, "type": source.type, "supportedTypes": SUPPORTED_TYPES} for name, source in sources.items()]
