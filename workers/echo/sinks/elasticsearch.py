"""Forwards events to Elasticsearch through its bulk API.

One ``POST {url}/_bulk`` (NDJSON) per batch: an action line (``create`` by default) naming the
daily index (``index`` as ``strftime`` of the event's time, UTC) and the CloudEvent id as ``_id``,
then the CloudEvent itself. With ``create`` a resent event answers 409 (the document exists) and
counts as delivered, so a retry or a redelivery never indexes an event twice.

Each item is judged on its own status: 2xx (and 409 for ``create``) delivered; 429 and 5xx sent
again; any other error (a mapping conflict, say) refuses the event with Elasticsearch's reason.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pydantic_core

from bus import Envelope
from gennaker.outbound import OutboundClient
from schemas.echo_sinks import ElasticsearchSink
from workers.echo.http_status import worth_retrying
from workers.echo.sinks.http import events_key, post
from workers.echo.sinks.outcome import DELIVERED, Outcome, SinkUnavailable, refused, retry


class ElasticsearchBulk:
    """The :class:`~workers.echo.sinks.base.Sink` for Elasticsearch's ``_bulk`` endpoint."""

    def __init__(self, config: ElasticsearchSink) -> None:
        self.config = config
        self.name = config.name
        self.url = config.url.rstrip("/") + "/_bulk"
        self.headers = {"Content-Type": "application/x-ndjson", **config.headers}
        if config.api_key:
            self.headers["Authorization"] = f"ApiKey {config.api_key}"
        elif config.username is not None:
            secret = f"{config.username}:{config.password or ''}".encode()
            self.headers["Authorization"] = f"Basic {base64.b64encode(secret).decode()}"
        self._per_second = "%f" not in config.index
        """Whether the index name can change only from one second to the next (no microseconds in it):
        then a batch, whose events are mostly of the same second, formats its index once."""
        self._last_second: datetime | None = None
        self._last_index = ""

    def index_of(self, envelope: Envelope) -> str:
        """The index ``envelope`` goes to: the pattern applied to its time in UTC."""
        moment = envelope.time.astimezone(UTC)
        if self._per_second:
            second = moment.replace(microsecond=0)
            if second != self._last_second:
                self._last_second, self._last_index = second, second.strftime(self.config.index)
            return self._last_index
        return moment.strftime(self.config.index)

    def body(self, events: Sequence[Envelope]) -> bytes:
        """The NDJSON bulk request for ``events``."""
        lines: list[bytes] = []
        head = b'{"' + self.config.op_type.encode() + b'":{"_index":'
        for envelope in events:
            lines.append(head + _json(self.index_of(envelope)) + b',"_id":' + _json(envelope.id) + b"}}")
            lines.append(envelope.to_bytes())
        return b"\n".join(lines) + b"\n"

    async def send(self, session: OutboundClient, events: Sequence[Envelope]) -> list[Outcome]:
        answer = await post(
            session,
            self.url,
            self.body(events),
            self.headers,
            timeout=self.config.timeout,
            what="elasticsearch",
            idempotency_key=events_key(self.name, events),
        )
        if not answer.ok:
            return [refused(f"bulk request refused with HTTP {answer.status}: {answer.excerpt()}")] * len(events)
        try:
            items = json.loads(answer.body)["items"]
        except (ValueError, KeyError, TypeError) as error:
            raise SinkUnavailable(f"elasticsearch answered an unreadable bulk response: {error}") from error
        if not isinstance(items, list) or len(items) != len(events):
            raise SinkUnavailable("elasticsearch answered a bulk response with another number of items")
        return [self._outcome(item) for item in items]

    def _outcome(self, item: dict[str, Any]) -> Outcome:
        result: dict[str, Any] = next(iter(item.values()), {}) if isinstance(item, dict) else {}
        status = int(result.get("status", 0))
        if 200 <= status < 300 or (status == 409 and self.config.op_type == "create"):
            return DELIVERED
        error = result.get("error") or {}
        reason = f"HTTP {status}"
        if isinstance(error, dict):
            reason = f"HTTP {status} {error.get('type', '')}: {error.get('reason', '')}".strip()
        if status == 0 or worth_retrying(status):
            return retry(reason)
        return refused(f"elasticsearch refused the document: {reason}")


def _json(text: str) -> bytes:
    """``text`` as a JSON string."""
    return pydantic_core.to_json(text)
