"""Forwards events to Splunk's HTTP Event Collector (HEC).

One ``POST {url}/services/collector/event`` per batch with ``Authorization: Splunk <token>`` and
the events concatenated as JSON objects (``time`` in epoch seconds, ``source``, ``sourcetype``,
``index``, and the CloudEvent as ``event``). A ``400`` naming ``invalid-event-number`` n means the
events before n were taken: n is refused (dead-lettered with HEC's reason) and the rest sent again.

With ``ack`` on (indexer acknowledgement), every request carries the channel
``X-Splunk-Request-Channel`` and the batch counts as delivered only once
``POST /services/collector/ack?channel=…`` reports its ``ackId`` indexed; one not acknowledged
within ``ack_timeout`` is sent again (HEC has no event id to deduplicate on, so that rare resend
may index a batch twice).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp

from bus import Envelope
from schemas.echo_sinks import SplunkSink
from workers.echo.sinks.http import post
from workers.echo.sinks.outcome import DELIVERED, Outcome, SinkUnavailable, refused, retry


class SplunkHec:
    """The :class:`~workers.echo.sinks.base.Sink` for Splunk's HTTP Event Collector."""

    def __init__(self, config: SplunkSink) -> None:
        self.config = config
        self.name = config.name
        base = config.url.rstrip("/")
        self.url = f"{base}/services/collector/event"
        self.channel = str(uuid.uuid4())
        self.ack_url = f"{base}/services/collector/ack?channel={self.channel}"
        self.headers = {"Authorization": f"Splunk {config.token}", "Content-Type": "application/json", **config.headers}
        if config.ack:
            self.headers["X-Splunk-Request-Channel"] = self.channel

    def event(self, envelope: Envelope) -> dict[str, Any]:
        """One HEC event carrying ``envelope``."""
        event: dict[str, Any] = {
            "time": round(envelope.time.timestamp(), 3),
            "source": self.config.source or envelope.source,
            "sourcetype": self.config.sourcetype,
            "event": envelope.model_dump(mode="json", exclude_none=True),
        }
        if self.config.index:
            event["index"] = self.config.index
        return event

    def body(self, events: Sequence[Envelope]) -> bytes:
        """The concatenated JSON events of one HEC request."""
        return b"\n".join(json.dumps(self.event(envelope), separators=(",", ":")).encode() for envelope in events)

    async def send(self, session: aiohttp.ClientSession, events: Sequence[Envelope]) -> list[Outcome]:
        answer = await post(
            session, self.url, self.body(events), self.headers, timeout=self.config.timeout, what="splunk"
        )
        try:
            reply = json.loads(answer.body) if answer.body else {}
        except ValueError:
            reply = {}
        if not answer.ok:
            reason = f"HTTP {answer.status}: {reply.get('text') or answer.excerpt()}"
            bad = reply.get("invalid-event-number")
            if answer.status == 400 and isinstance(bad, int) and 0 <= bad < len(events):
                return [
                    *([DELIVERED] * bad),
                    refused(f"splunk refused the event: {reason}"),
                    *([retry("sent after an invalid event")] * (len(events) - bad - 1)),
                ]
            return [refused(f"splunk refused the request: {reason}")] * len(events)
        if self.config.ack:
            ack_id = reply.get("ackId")
            if not isinstance(ack_id, int):
                raise SinkUnavailable(f"splunk answered no ackId with acknowledgement on: {answer.excerpt()}")
            await self._acknowledged(session, ack_id)
        return [DELIVERED] * len(events)

    async def _acknowledged(self, session: aiohttp.ClientSession, ack_id: int) -> None:
        """Poll until ``ack_id`` is indexed; raise ``SinkUnavailable`` after ``ack_timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.ack_timeout
        query = json.dumps({"acks": [ack_id]}).encode()
        while True:
            answer = await post(
                session, self.ack_url, query, self.headers, timeout=self.config.timeout, what="splunk ack"
            )
            if answer.ok:
                try:
                    acks = json.loads(answer.body).get("acks", {})
                except ValueError:
                    acks = {}
                if acks.get(str(ack_id)) is True:
                    return
            if loop.time() > deadline:
                raise SinkUnavailable(f"splunk did not acknowledge ackId {ack_id} in {self.config.ack_timeout:g}s")
            await asyncio.sleep(self.config.ack_interval)
