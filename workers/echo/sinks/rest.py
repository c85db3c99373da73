"""Forwards events to any HTTP endpoint that takes CloudEvents (the CloudEvents HTTP binding).

``structured`` mode POSTs each event on its own as ``application/cloudevents+json``, in order,
stopping at the first that must wait (it and those after it are sent again); ``batch`` mode POSTs
the whole batch as a JSON array, ``application/cloudevents-batch+json``. A 2xx answer delivers,
429 / 5xx / connection errors are retried, any other answer refuses the event(s) for good.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from bus import Envelope
from bus.envelope import CONTENT_TYPE
from gennaker.outbound import OutboundClient
from schemas.echo_sinks import RestSink
from workers.echo.sinks.http import events_key, post
from workers.echo.sinks.outcome import DELIVERED, Outcome, SinkUnavailable, refused, retry

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


class RestCloudEvents:
    """The :class:`~workers.echo.sinks.base.Sink` for a generic CloudEvents receiver."""

    def __init__(self, config: RestSink) -> None:
        self.config = config
        self.name = config.name
        content_type = BATCH_CONTENT_TYPE if config.mode == "batch" else CONTENT_TYPE
        self.headers = {"Content-Type": content_type, **config.headers}

    async def send(self, session: OutboundClient, events: Sequence[Envelope]) -> list[Outcome]:
        if self.config.mode == "batch":
            body = b"[" + b",".join(envelope.to_bytes() for envelope in events) + b"]"
            key = events_key(self.name, events)
            answer = await post(
                session,
                self.config.url,
                body,
                self.headers,
                timeout=self.config.timeout,
                what="rest",
                idempotency_key=key,
            )
            outcome = DELIVERED if answer.ok else refused(f"HTTP {answer.status}: {answer.excerpt()}")
            return [outcome] * len(events)
        outcomes: list[Outcome] = []
        for envelope in events:
            try:
                answer = await post(
                    session,
                    self.config.url,
                    envelope.to_bytes(),
                    self.headers,
                    timeout=self.config.timeout,
                    what="rest",
                    idempotency_key=events_key(self.name, [envelope]),
                )
            except (SinkUnavailable, aiohttp.ClientError, TimeoutError, OSError) as error:
                if not outcomes:
                    raise SinkUnavailable(str(error)) from error
                return outcomes + [retry(str(error))] * (len(events) - len(outcomes))
            outcomes.append(DELIVERED if answer.ok else refused(f"HTTP {answer.status}: {answer.excerpt()}"))
        return outcomes
