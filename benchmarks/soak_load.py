"""The soak benchmark's traffic: a fixed-rate mix of Gate requests, event-stream subscribers, and a
follower that finds every execution the mix started and waits for it to finish.

Requests are sent open-loop (each on its own schedule, whether or not the previous one answered),
so a slow gateway shows as latency and backlog rather than as a lower offered rate. Every answer is
classified: the status the request expects (``404`` for the deliberate miss, ``202`` for a
trigger), another 4xx, a 5xx, or no answer at all (a connection error or a timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

APPLICATION = "soak"
QUICK = "quick"
HOOKED = "hooked"
TERMINAL = frozenset({"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE"})
ENDPOINT_HEADER = "X-Soak-Endpoint"
"""Names the endpoint of the mix on every request, so the baseline server knows what to answer."""
MAX_IN_FLIGHT = 64
"""Requests of the mix waiting for an answer at once; a tick beyond it is counted as backlog."""
FOLLOW_BATCH = 20
Action = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Mix:
    """The offered load, per second, and how long it lasts."""

    triggers: float
    webhooks: float
    reads: float
    subscribers: int
    seconds: float
    warm_up: float
    source: str
    """The webhook source only this run's pipeline listens to."""


@dataclass
class Tally:
    """Everything the traffic saw, counted as it happened."""

    started: float
    warm_up: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    expected_4xx: Counter[str] = field(default_factory=Counter)
    unexpected_4xx: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    connection_errors: Counter[str] = field(default_factory=Counter)
    backlog: int = 0
    examples: list[str] = field(default_factory=list)

    def answered(self, endpoint: str, sent: float, seconds: float) -> None:
        """An answer as expected; its latency counts once the warm-up is over."""
        if sent - self.started >= self.warm_up:
            self.latencies.setdefault(endpoint, []).append(seconds)

    def failed(self, counter: Counter[str], endpoint: str, what: str) -> None:
        counter[endpoint] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{endpoint}: {what}")

    def failures(self) -> int:
        """Requests that failed: anything but the expected answer, 4xx included."""
        return sum(
            sum(counter.values()) for counter in (self.unexpected_4xx, self.server_errors, self.connection_errors)
        )


@dataclass
class Subscriber:
    """One ``GET /events/stream`` client and what it saw."""

    pattern: str
    events: int = 0
    completions: dict[str, float] = field(default_factory=dict)
    """Execution id -> when its ``orca.execution.completed`` arrived here."""
    duplicates: int = 0
    reconnects: int = 0
    last_id: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Started:
    """An execution the mix asked for: when, how, and what became of it."""

    sent: float
    how: str
    execution_id: str | None = None
    status: str | None = None


def completed_execution(frame: dict[str, str]) -> str | None:
    """The execution id of an ``orca.execution.completed`` frame; None for any other frame."""
    if not frame.get("event", "").startswith("io.gennaker.orca.execution.completed"):
        return None
    data = json.loads(frame.get("data") or "{}").get("data") or {}
    found = data.get("execution_id") or data.get("executionId")
    return str(found) if found else None


class Traffic:
    """Drives one :class:`Mix` against a gateway (or the baseline server) at ``url``."""

    def __init__(self, url: str, mix: Mix, *, follow: bool = True) -> None:
        self.url = url
        self.mix = mix
        self.follow = follow
        self.tally = Tally(started=time.monotonic(), warm_up=mix.warm_up)
        self.subscribers = [Subscriber("#" if n == 0 else "orca.execution.*") for n in range(mix.subscribers)]
        self.triggered: list[Started] = []
        self.webhooks: dict[str, Started] = {}
        """Webhook eventId -> the execution it started, once found."""
        self.doubled: list[str] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._read_turn = 0

    # --- requests -------------------------------------------------------------------------------

    async def call(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        expect: Sequence[int] = (200,),
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """One request; its parsed JSON answer when it was the expected one, else None (counted)."""
        assert self._session is not None
        sent = time.monotonic()
        try:
            async with self._session.request(
                method, path, json=body, params=params, headers={ENDPOINT_HEADER: endpoint}
            ) as response:
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            self.tally.failed(self.tally.connection_errors, endpoint, f"{type(error).__name__}: {error}")
            return None
        seconds = time.monotonic() - sent
        if response.status in expect:
            self.tally.answered(endpoint, sent, seconds)
            if 400 <= response.status < 500:
                self.tally.expected_4xx[endpoint] += 1
            with contextlib.suppress(ValueError):
                return json.loads(raw) if raw else {}
            return {}
        counter = self.tally.server_errors if response.status >= 500 else self.tally.unexpected_4xx
        self.tally.failed(counter, endpoint, f"HTTP {response.status} {raw[:200]!r}")
        return None

    async def trigger(self) -> None:
        """``POST /pipelines/{app}/{name}``: the execution's id is in the answer's ``ref``."""
        started = Started(time.monotonic(), "trigger")
        self.triggered.append(started)
        answer = await self.call(
            "trigger", "POST", f"/pipelines/{APPLICATION}/{QUICK}", expect=(200, 202), body={"type": "manual"}
        )
        if isinstance(answer, dict) and isinstance(answer.get("ref"), str):
            started.execution_id = answer["ref"].rsplit("/", 1)[-1]

    async def webhook(self) -> None:
        """``POST /webhooks/webhook/{source}``: the execution is found later by the answer's ``eventId``."""
        sent = time.monotonic()
        answer = await self.call(
            "webhook", "POST", f"/webhooks/webhook/{self.mix.source}", body={"branch": "main", "sent": sent}
        )
        if isinstance(answer, dict) and isinstance(answer.get("eventId"), str):
            self.webhooks[answer["eventId"]] = Started(sent, "webhook")

    async def read(self) -> None:
        """The next read of the rotation: Deck's application list, configs, executions, one execution, a miss."""
        turn, self._read_turn = self._read_turn, self._read_turn + 1
        match turn % 5:
            case 0:
                await self.call("applications", "GET", "/applications")
            case 1:
                await self.call("pipelineConfigs", "GET", f"/applications/{APPLICATION}/pipelineConfigs")
            case 2:
                params = {"limit": "20", "expand": "false"}
                await self.call("executions", "GET", f"/applications/{APPLICATION}/pipelines", params=params)
            case 3:
                known = next((s.execution_id for s in reversed(self.triggered) if s.execution_id), None)
                if known is not None:
                    await self.call("execution", "GET", f"/pipelines/{known}")
            case _:
                path = f"/applications/{APPLICATION}/pipelineConfigs/no-such-pipeline"
                await self.call("missing (404)", "GET", path, expect=(404,))

    # --- event stream subscribers ---------------------------------------------------------------

    async def subscribe(self, subscriber: Subscriber, stop: asyncio.Event) -> None:
        """Follow ``/events/stream`` until ``stop``; a dropped stream is counted and resumed from its last id."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
        async with aiohttp.ClientSession(self.url, timeout=timeout) as session:
            while not stop.is_set():
                headers = {ENDPOINT_HEADER: "events/stream"}
                if subscriber.last_id:
                    headers["Last-Event-ID"] = subscriber.last_id
                try:
                    async with session.get(
                        "/events/stream", params={"pattern": subscriber.pattern}, headers=headers
                    ) as response:
                        if response.status != 200:
                            raise aiohttp.ClientResponseError(
                                response.request_info, (), status=response.status, message="event stream refused"
                            )
                        await self._read_stream(subscriber, response, stop)
                except (aiohttp.ClientError, TimeoutError) as error:
                    if stop.is_set():
                        return
                    self.tally.failed(self.tally.connection_errors, "events/stream", f"{type(error).__name__}: {error}")
                if not stop.is_set():
                    subscriber.reconnects += 1
                    await asyncio.sleep(1)

    async def _read_stream(self, subscriber: Subscriber, response: aiohttp.ClientResponse, stop: asyncio.Event) -> None:
        frame: dict[str, str] = {}
        while not stop.is_set():
            line = (await response.content.readline()).decode()
            if not line:
                return
            line = line.rstrip("\n")
            if line.startswith(":"):
                subscriber.ready.set()
            elif line:
                name, _, value = line.partition(":")
                frame[name] = frame.get(name, "") + value.removeprefix(" ")
            elif frame:
                subscriber.events += 1
                subscriber.last_id = frame.get("id") or subscriber.last_id
                execution_id = completed_execution(frame)
                if execution_id is not None:
                    if execution_id in subscriber.completions:
                        subscriber.duplicates += 1
                    subscriber.completions.setdefault(execution_id, time.monotonic())
                frame = {}

    # --- following what the mix started ---------------------------------------------------------

    def pending(self) -> list[Started]:
        """Executions known to be asked for that have not been seen finished."""
        known = [s for s in (*self.triggered, *self.webhooks.values()) if s.execution_id is not None]
        return [s for s in known if s.status not in TERMINAL]

    async def follow_round(self) -> None:
        """Find the webhooks' executions by ``eventId``, then read the unfinished ones' status."""
        unfound = [(event_id, s) for event_id, s in self.webhooks.items() if s.execution_id is None]
        for event_id, started in unfound[:FOLLOW_BATCH]:
            params = {"eventId": event_id, "triggerTypes": "webhook", "size": "5", "expand": "false"}
            found = await self.call(
                "follow: search", "GET", f"/applications/{APPLICATION}/executions/search", params=params
            )
            if isinstance(found, list) and found:
                started.execution_id = str(found[0]["id"])
                started.status = str(found[0].get("status"))
                if len(found) > 1:
                    self.doubled.append(event_id)
        waiting = self.pending()
        for chunk in range(0, len(waiting), FOLLOW_BATCH):
            batch = {s.execution_id: s for s in waiting[chunk : chunk + FOLLOW_BATCH]}
            params = {"executionIds": ",".join(str(key) for key in batch), "expand": "false"}
            listed = await self.call("follow: executions", "GET", "/executions", params=params)
            for execution in listed if isinstance(listed, list) else []:
                if execution.get("id") in batch:
                    batch[execution["id"]].status = str(execution.get("status"))

    # --- the run --------------------------------------------------------------------------------

    def _spawn(self, action: Action) -> None:
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            self.tally.backlog += 1
            return
        task = asyncio.create_task(action())
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _tick(self, rate: float, action: Action, stop_at: float) -> None:
        if rate <= 0:
            return
        next_at = time.monotonic()
        while next_at < stop_at:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            self._spawn(action)
            next_at += 1 / rate

    async def run(self, drain_seconds: float) -> float:
        """Subscribe, send the mix for its seconds, then follow until everything finished or
        ``drain_seconds`` passed; returns the seconds the drain took."""
        connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT + 8)
        timeout = aiohttp.ClientTimeout(total=30)
        stop_streams = asyncio.Event()
        async with aiohttp.ClientSession(self.url, connector=connector, timeout=timeout) as self._session:
            streams = [asyncio.create_task(self.subscribe(s, stop_streams)) for s in self.subscribers]
            try:
                await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in self.subscribers)), 30)
                self.tally.started = time.monotonic()
                stop_at = self.tally.started + self.mix.seconds
                ticks = [
                    self._tick(self.mix.triggers, self.trigger, stop_at),
                    self._tick(self.mix.webhooks, self.webhook, stop_at),
                    self._tick(self.mix.reads, self.read, stop_at),
                ]
                follower = asyncio.create_task(self._follow_until(stop_at))
                await asyncio.gather(*ticks)
                if self._in_flight:
                    await asyncio.wait(set(self._in_flight))
                await follower
                drained = time.monotonic()
                if self.follow:
                    await self._drain(drained + drain_seconds)
                return time.monotonic() - drained
            finally:
                stop_streams.set()
                for stream in streams:
                    stream.cancel()
                await asyncio.gather(*streams, return_exceptions=True)

    async def _follow_until(self, stop_at: float) -> None:
        while time.monotonic() < stop_at:
            if self.follow:
                await self.follow_round()
            await asyncio.sleep(2)

    def _settled(self) -> bool:
        if any(s.execution_id is None for s in self.webhooks.values()) or self.pending():
            return False
        finished = {s.execution_id for s in (*self.triggered, *self.webhooks.values()) if s.execution_id}
        return all(finished <= set(subscriber.completions) for subscriber in self.subscribers)

    async def _drain(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            await self.follow_round()
            if self._settled():
                return
            await asyncio.sleep(1)
