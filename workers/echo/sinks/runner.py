"""Runs one configured sink while Echo runs: its bounded durable queue, its batcher, its HTTP session.

The queue is ``gennaker.echo-sink-<name>.events``, bound to ``gennaker.events`` with the sink's
patterns and bounded by ``max_queue`` (a full queue refuses new events and the bus raises its
alarm). The consumer's prefetch is two batches, so one batch is sent while the next fills, and a
delivered batch is acknowledged with one acknowledgement (``Endpoint.ack_together``).

On stop the consumer stops taking events and those in hand get ``drain_seconds`` to be delivered;
whatever is left goes back to its queue unacknowledged, as after a crash: never lost, and never
doubled by a retry copy racing an acknowledgement the closing channel may drop (RabbitMQ's quorum
queues can ignore acks sent just before a channel closes, rabbitmq-server#10327).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from bus import Bus, Endpoint, Envelope, MessageContext
from gennaker.outbound import OutboundClient
from schemas.echo_sinks import ElasticsearchSink, SinkConfig, SplunkSink
from schemas.outbound import OutboundSettings
from workers.echo.sinks.base import Sink
from workers.echo.sinks.batcher import Batcher
from workers.echo.sinks.elasticsearch import ElasticsearchBulk
from workers.echo.sinks.rest import RestCloudEvents
from workers.echo.sinks.splunk import SplunkHec

log = structlog.get_logger("gennaker.echo.sinks")


def build_sink(config: SinkConfig) -> Sink:
    """The adapter for ``config``'s type."""
    if isinstance(config, ElasticsearchSink):
        return ElasticsearchBulk(config)
    if isinstance(config, SplunkSink):
        return SplunkHec(config)
    return RestCloudEvents(config)


def sink_service(name: str) -> str:
    """The service name a sink's queue is declared under: ``echo-sink-<name>``."""
    return f"echo-sink-{name}"


class SinkRunner:
    """One sink as a background loop of Echo: ``await runner.run(bus)`` until cancelled."""

    def __init__(self, config: SinkConfig, outbound: OutboundSettings, *, drain_seconds: float = 5.0) -> None:
        self.config = config
        self.outbound = outbound
        self.drain_seconds = drain_seconds

    def endpoint(self, batcher: Batcher) -> Endpoint:
        """The sink's queue: every event its patterns match waits here until delivered."""

        async def forward(envelope: Envelope, context: MessageContext) -> None:
            await batcher.submit(envelope)

        return Endpoint(
            service=sink_service(self.config.name),
            kind="events",
            patterns=self.config.patterns,
            raw_handler=forward,
            prefetch=min(2 * self.config.batch_size, 65_535),
            max_length=self.config.max_queue,
            ack_together=True,
        )

    async def run(self, bus: Bus) -> None:
        """Consume the sink's queue and deliver batches until cancelled."""
        config = self.config
        client = OutboundClient(self.outbound)
        batcher = Batcher(
            build_sink(config),
            client,
            batch_size=config.batch_size,
            batch_seconds=config.batch_seconds,
            retry_base_delay=config.retry_base_delay,
            retry_max_delay=config.retry_max_delay,
        )
        sending = asyncio.create_task(batcher.run(), name=f"sink {config.name}")
        try:
            consumption = await bus.consume(self.endpoint(batcher))
            log.info("sink started", sink=config.name, type=config.type, patterns=list(config.patterns))
            try:
                await asyncio.shield(sending)
            finally:
                await consumption.stop(grace=self.drain_seconds)
        finally:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
            batcher.close()
            await client.close()
            log.info("sink stopped", sink=config.name)
