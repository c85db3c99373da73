"""Metrics sources: one small interface (:class:`MetricsSource`), Prometheus, Datadog and in-process adapters."""

from workers.kayenta.sources.base import MetricsSource, MetricsSourceError, Scope, Series

__all__ = ["MetricsSource", "MetricsSourceError", "Scope", "Series"]
