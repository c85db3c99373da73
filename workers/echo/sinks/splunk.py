"""Forwards events to Splunk's HTTP Event Collector (HEC).

One ``POST {url}/services/collector/event`` per batch with ``Authorization: Splunk <token>`` and
the events concatenated as JSON objects (``time`` in epoch seconds, ``source``, ``sourcetype``,
``index``, the CloudEvent as ``event``, and its ``id``, ``source`` and ``type`` as the indexed
``fields`` ``cloudevent_id``, ``cloudevent_source`` and ``cloudevent_type``). A ``400`` naming
``invalid-event-number`` n means the events before n were taken: n is refused (dead-lettered with
HEC's reason) and the rest sent again.

With ``ack`` on (indexer acknowledgement), every request carries the channel
``X-Splunk-Request-Channel`` and the batch counts as delivered only once
``POST /services/collector/ack?channel=…`` reports its ``ackId`` indexed; one not acknowledged
within ``ack_timeout`` is sent again. HEC has no event id to deduplicate on, so such a resend (or
one after any failure) may index an event twice: the indexed ``cloudevent_id`` lets a search drop
the repeats (``| dedup cloudevent_id``, or ``tstats`` over it), and each request carries an
``Idempotency-Key`` derived from its events for a proxy in front of HEC that honours it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from typing import Any

import pydantic_core

from bus import Envelope
from gennaker.outbound import OutboundClient
from schemas import idempotency
from schemas.echo_sinks import SplunkSink
from workers.echo.sinks.http import events_key, post
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
            "fields": {
                "cloudevent_id": envelope.id,
                "cloudevent_source": envelope.source,
                "cloudevent_type": envelope.type,
            },
        }
        if self.config.index:
            event["index"] = self.config.index
        return event

    def body(self, events: Sequence[Envelope]) -> bytes:
        """The concatenated JSON events of one HEC request: each is :meth:`event`'s JSON, with the
        CloudEvent spliced in as the envelope serialises itself instead of walked twice."""
        return b"\n".join(self._encoded(envelope) for envelope in events)

    def _encoded(self, envelope: Envelope) -> bytes:
        head = {
            "time": round(envelope.time.timestamp(), 3),
            "source": self.config.source or envelope.source,
            "sourcetype": self.config.sourcetype,
        }
        fields = {
            "cloudevent_id": envelope.id,
            "cloudevent_source": envelope.source,
            "cloudevent_type": envelope.type,
        }
        tail = b"}" if not self.config.index else b',"index":' + pydantic_core.to_json(self.config.index) + b"}"
        return (
            pydantic_core.to_json(head)[:-1]
            + b',"event":'
            + envelope.to_bytes()
            + b',"fields":'
            + pydantic_core.to_json(fields)
            + tail
        )

    async def send(self, session: OutboundClient, events: Sequence[Envelope]) -> list[Outcome]:
        answer = await post(
            session,
            self.url,
            self.body(events),
            self.headers,
            timeout=self.config.timeout,
            what="splunk",
            idempotency_key=events_key(self.name, events),
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

    async def _acknowledged(self, session: OutboundClient, ack_id: int) -> None:
        """Poll until ``ack_id`` is indexed; raise ``SinkUnavailable`` after ``ack_timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.ack_timeout
        query = json.dumps({"acks": [ack_id]}).encode()
        while True:
            answer = await post(
                session,
                self.ack_url,
                query,
                self.headers,
                timeout=self.config.timeout,
                what="splunk ack",
                idempotency_key=idempotency.derive("echo.splunk.ack", self.channel, ack_id),
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
