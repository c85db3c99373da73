"""Echo's durable fan-out of Gennaker's events to other systems (Elasticsearch, Splunk HEC, REST).

Each configured sink (``sinks`` in the settings, :mod:`schemas.echo_sinks`) runs as a background
loop of Echo with a durable, bounded queue of its own, so a sink that is down holds its events in
RabbitMQ and never slows the others or the pipelines. :func:`sink_loops` turns the settings into
those loops.
"""

from __future__ import annotations

from collections.abc import Sequence

from bus.service import BackgroundTask
from schemas.echo_sinks import SinkConfig
from schemas.outbound import OutboundSettings
from workers.echo.sinks.runner import SinkRunner, build_sink, sink_service


def sink_loops(sinks: Sequence[SinkConfig], outbound: OutboundSettings) -> list[BackgroundTask]:
    """One background loop per configured sink, each calling only where ``outbound`` allows."""
    return [SinkRunner(config, outbound).run for config in sinks]


__all__ = ["SinkRunner", "build_sink", "sink_loops", "sink_service"]
