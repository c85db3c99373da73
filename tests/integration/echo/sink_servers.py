"""Local HTTP servers that speak the wire formats Echo's sinks send to, for tests and the benchmark.

No Elasticsearch or Splunk can be installed here, so these aiohttp apps implement the documented
parts the sinks use: Elasticsearch's ``POST /_bulk`` (NDJSON, ``create``/``index`` actions, per-item
statuses, 409 on a ``create`` of an existing ``_id``), Splunk's HTTP Event Collector
(``/services/collector/event`` with ``Authorization: Splunk <token>``, concatenated JSON events,
``X-Splunk-Request-Channel`` + ``/services/collector/ack``), and a CloudEvents receiver (structured
and batch content modes). Each can be put in an outage (HTTP 503) and records when each event arrived.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from schemas.json_types import Json


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a free local port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@dataclass
class Recorder:
    """What every fake keeps: requests seen, 503s answered, and each event's arrival time by id."""

    outage: bool = False
    requests: int = 0
    refused_503: int = 0
    arrived: dict[str, float] = field(default_factory=dict)
    """CloudEvent id → ``time.perf_counter()`` of its first arrival."""
    deliveries: Counter[str] = field(default_factory=Counter)
    """CloudEvent id → times it was stored (more than 1 would be a duplicate)."""
    keys: list[str | None] = field(default_factory=list)
    """The ``Idempotency-Key`` of every request, in order."""

    def unavailable(self, request: web.Request) -> web.Response | None:
        self.requests += 1
        self.keys.append(request.headers.get("Idempotency-Key"))
        if self.outage:
            self.refused_503 += 1
            return web.json_response({"error": "unavailable"}, status=503)
        return None

    def store(self, event_id: str) -> None:
        self.arrived.setdefault(event_id, time.perf_counter())
        self.deliveries[event_id] += 1

    async def until_count(self, count: int, timeout: float = 20.0) -> None:
        """Wait until ``count`` distinct events arrived; fail naming how many did."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.arrived) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(self.arrived)} of {count} events arrived in {timeout}s")
            await asyncio.sleep(0.02)


class FakeElasticsearch(Recorder):
    """``POST /_bulk``: documents by ``_id``; a document whose ``data.bad`` is true fails mapping
    (400), and ids in ``throttle_once`` answer 429 the first time they come.

    ``keep=False`` (the benchmark) keeps each document's id and index but not its body, so the fake's
    own storage does not load the garbage collector of the process it shares with Echo."""

    def __init__(self, *, keep: bool = True) -> None:
        super().__init__()
        self.keep = keep
        self.documents: dict[str, Json] = {}
        self.indices: dict[str, str] = {}
        self.throttle_once: set[str] = set()
        self.content_types: set[str] = set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/_bulk", self.bulk)
        return app

    async def bulk(self, request: web.Request) -> web.Response:
        if (down := self.unavailable(request)) is not None:
            return down
        self.content_types.add(request.content_type)
        lines = [line for line in (await request.read()).split(b"\n") if line.strip()]
        items: list[Json] = []
        for action_line, source_line in zip(lines[::2], lines[1::2], strict=True):
            action = json.loads(action_line)
            op, meta = next(iter(action.items()))
            document = json.loads(source_line)
            items.append({op: self._one(op, meta, document)})
        errors = any(next(iter(item.values()))["status"] >= 300 for item in items)
        return web.json_response({"took": 1, "errors": errors, "items": items})

    def _one(self, op: str, meta: Json, document: Json) -> Json:
        doc_id, index = meta["_id"], meta["_index"]
        result: Json = {"_index": index, "_id": doc_id}
        if doc_id in self.throttle_once:
            self.throttle_once.discard(doc_id)
            return {**result, "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "busy"}}
        if document.get("data", {}).get("bad"):
            reason = "failed to parse field [data.bad] of type [long]"
            return {**result, "status": 400, "error": {"type": "mapper_parsing_exception", "reason": reason}}
        if op == "create" and doc_id in self.documents:
            error = {"type": "version_conflict_engine_exception", "reason": f"[{doc_id}]: document already exists"}
            return {**result, "status": 409, "error": error}
        self.documents[doc_id] = document if self.keep else {}
        self.indices[doc_id] = index
        self.store(doc_id)
        return {**result, "status": 201, "result": "created"}


class FakeSplunk(Recorder):
    """Splunk HEC: checks the token, takes concatenated JSON events (one whose ``data.bad`` is true is
    invalid: 400 naming its ``invalid-event-number``), and with a request channel answers an
    ``ackId`` that ``/services/collector/ack`` reports indexed after ``ack_polls`` polls; with
    ``keep=False`` it keeps no event's body, only its id and arrival (as :class:`FakeElasticsearch`)."""

    def __init__(self, token: str = "hec-token", *, ack_polls: int = 1, keep: bool = True) -> None:
        super().__init__()
        self.keep = keep
        self.token = token
        self.ack_polls = ack_polls
        self.events: list[Json] = []
        self.channels: set[str] = set()
        self._next_ack = 0
        self._polls: dict[int, int] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/services/collector/event", self.collect)
        app.router.add_post("/services/collector/ack", self.ack)
        return app

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Splunk {self.token}"

    async def collect(self, request: web.Request) -> web.Response:
        if (down := self.unavailable(request)) is not None:
            return down
        if not self._authorised(request):
            return web.json_response({"text": "Invalid token", "code": 4}, status=403)
        decoder = json.JSONDecoder()
        text, position, batch = (await request.read()).decode(), 0, []
        while position < len(text):
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                break
            event, position = decoder.raw_decode(text, position)
            batch.append(event)
        for number, event in enumerate(batch):
            fields = event.get("fields", {})
            flat = isinstance(fields, dict) and all(isinstance(value, str | list) for value in fields.values())
            if not flat:  # HEC's indexed fields are flat: strings or lists of strings
                self._keep(batch[:number])
                return web.json_response(
                    {"text": "Error in handling indexed fields", "code": 15, "invalid-event-number": number}, status=400
                )
            if not event.get("event") or event["event"].get("data", {}).get("bad"):
                self._keep(batch[:number])  # HEC indexes the events before the invalid one
                return web.json_response(
                    {"text": "Invalid data format", "code": 6, "invalid-event-number": number}, status=400
                )
        self._keep(batch)
        channel = request.headers.get("X-Splunk-Request-Channel")
        if channel is None:
            return web.json_response({"text": "Success", "code": 0})
        self.channels.add(channel)
        self._next_ack += 1
        self._polls[self._next_ack] = 0
        return web.json_response({"text": "Success", "code": 0, "ackId": self._next_ack})

    def _keep(self, batch: list[Json]) -> None:
        for event in batch:
            if self.keep:
                self.events.append(event)
            self.store(event["event"]["id"])

    async def ack(self, request: web.Request) -> web.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        if not self._authorised(request):
            return web.json_response({"text": "Invalid token", "code": 4}, status=403)
        if request.query.get("channel") not in self.channels:
            return web.json_response({"text": "Invalid data channel", "code": 11}, status=400)
        answer: dict[str, bool] = {}
        for ack_id in (await request.json())["acks"]:
            self._polls[ack_id] = self._polls.get(ack_id, 0) + 1
            answer[str(ack_id)] = self._polls[ack_id] >= self.ack_polls
        return web.json_response({"acks": answer})


class FakeCloudEventsReceiver(Recorder):
    """Takes CloudEvents over HTTP in structured (one per request) or batch (JSON array) mode."""

    def __init__(self) -> None:
        super().__init__()
        self.content_types: list[str] = []
        self.events: list[Json] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/events", self.receive)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        if (down := self.unavailable(request)) is not None:
            return down
        self.content_types.append(request.content_type)
        body = await request.json()
        for event in body if isinstance(body, list) else [body]:
            self.events.append(event)
            self.store(event["id"])
        return web.Response(status=202)
