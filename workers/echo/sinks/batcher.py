"""Gathers a sink's events into batches by count and time, and keeps sending a batch until it lands.

Each event's handler waits on :meth:`Batcher.submit` until its batch was delivered, so the bus
acknowledges an event only once the outside system took it: while the system is down the events
wait, unacknowledged and durable, in the sink's queue (the prefetch bounds how many are held in
memory), and come out in roughly the order they went in. One batch is in flight at a time.

A whole failed request (:class:`SinkUnavailable`) and items the system asks to resend are retried
with exponential backoff and jitter, for as long as it takes; items refused for good fail their
handler with :class:`~bus.errors.PermanentError`, which dead-letters them with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Sequence

import aiohttp
import structlog

from bus import Envelope, PermanentError
from gennaker.outbound import OutboundClient, OutboundRefused
from schemas.secrets import redact
from workers.echo.sinks.base import Sink
from workers.echo.sinks.metrics import SINK_EVENTS, SINK_REQUEST_SECONDS, SINK_RETRIES
from workers.echo.sinks.outcome import Outcome, SinkStopped, SinkUnavailable

log = structlog.get_logger("gennaker.echo.sinks")

Item = tuple[Envelope, "asyncio.Future[None]"]


class Batcher:
    """Batches ``submit``-ted events for ``sink``: at most ``batch_size`` per request, and no event
    waits more than ``batch_seconds`` for its batch to fill."""

    def __init__(
        self,
        sink: Sink,
        session: OutboundClient,
        *,
        batch_size: int,
        batch_seconds: float,
        retry_base_delay: float,
        retry_max_delay: float,
    ) -> None:
        self.sink = sink
        self.session = session
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self._waiting: asyncio.Queue[Item] = asyncio.Queue()
        self._in_flight: list[Item] = []
        self._full = asyncio.Event()
        """Set once a whole batch is waiting, so a filling batch needs one timer, not one per event."""
        self._closed = False

    async def submit(self, envelope: Envelope) -> None:
        """Return once ``envelope`` was delivered; raise ``PermanentError`` if the sink refused it for
        good, :class:`SinkStopped` if Echo stops first."""
        if self._closed:
            raise SinkStopped(f"sink {self.sink.name} is stopping")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.put_nowait((envelope, future))
        if self._waiting.qsize() + len(self._in_flight) >= self.batch_size:
            self._full.set()
        await future

    async def run(self) -> None:
        """Send batches until cancelled."""
        while True:
            await self._next_batch()
            await self._deliver(list(self._in_flight))
            self._in_flight = []  # kept when cancelled: close() fails what it holds

    async def _next_batch(self) -> None:
        """Gather the next batch into ``_in_flight`` (where :meth:`close` finds it if cancelled)."""
        batch = self._in_flight
        batch.append(await self._waiting.get())
        if len(batch) + self._waiting.qsize() < self.batch_size:
            self._full.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.batch_seconds):
                    await self._full.wait()
        while len(batch) < self.batch_size and not self._waiting.empty():
            batch.append(self._waiting.get_nowait())

    async def _deliver(self, batch: list[Item]) -> None:
        pending = batch
        failures = 0
        while pending:
            pending = [(envelope, future) for envelope, future in pending if not future.done()]
            if not pending:
                return
            try:
                outcomes = await self._send([envelope for envelope, _ in pending])
            except SinkUnavailable as error:
                failures += 1
                await self._back_off(failures, f"{error}", len(pending))
                continue
            again: list[Item] = []
            finished: Counter[str] = Counter()
            for (envelope, future), outcome in zip(pending, outcomes, strict=True):
                if outcome.status == "retry":
                    again.append((envelope, future))
                    continue
                finished[outcome.status] += 1
                if future.done():
                    continue
                if outcome.status == "delivered":
                    future.set_result(None)
                else:
                    log.error(
                        "sink refused an event for good",
                        sink=self.sink.name,
                        event_id=envelope.id,
                        reason=outcome.reason,
                    )
                    future.set_exception(PermanentError(f"sink {self.sink.name} refused it: {outcome.reason}"))
            for status, count in finished.items():
                SINK_EVENTS.labels(self.sink.name, status).inc(count)
            if again:
                failures += 1
                await self._back_off(failures, _first_reason(outcomes), len(again))
            pending = again

    async def _send(self, events: Sequence[Envelope]) -> list[Outcome]:
        started = time.perf_counter()
        try:
            # a sink is outside the system: what it is sent carries no secret (schemas.secrets)
            outcomes = await self.sink.send(self.session, [redacted(envelope) for envelope in events])
        except (aiohttp.ClientError, TimeoutError, OSError, OutboundRefused) as error:
            # a refusal, like a rejected token, waits for an operator to fix the settings
            raise SinkUnavailable(f"{type(error).__name__}: {error}") from error
        finally:
            SINK_REQUEST_SECONDS.labels(self.sink.name).observe(time.perf_counter() - started)
        if len(outcomes) != len(events):
            raise SinkUnavailable(f"answered {len(outcomes)} outcomes for {len(events)} events")
        return outcomes

    async def _back_off(self, failures: int, reason: str, count: int) -> None:
        delay = min(self.retry_base_delay * 2 ** (failures - 1), self.retry_max_delay)
        delay *= random.uniform(0.8, 1.2)
        SINK_RETRIES.labels(self.sink.name).inc()
        report = log.warning if failures < 5 else log.error
        report(
            "sink unavailable; its events wait in its queue",
            sink=self.sink.name,
            reason=reason,
            events=count,
            attempt=failures,
            retry_in_s=round(delay, 3),
        )
        await asyncio.sleep(delay)

    def close(self) -> None:
        """Fail every event not yet delivered with :class:`SinkStopped`: the bus retries them later."""
        self._closed = True
        items = list(self._in_flight)
        while not self._waiting.empty():
            items.append(self._waiting.get_nowait())
        for _, future in items:
            if not future.done():
                future.set_exception(SinkStopped(f"sink {self.sink.name} stopped before delivering"))


def redacted(envelope: Envelope) -> Envelope:
    """``envelope`` with every secret in its data replaced by :data:`schemas.secrets.MARKER` (``envelope``
    itself when it holds none: most events carry no secret, and a copy costs more than the check)."""
    data = redact(envelope.data)
    if data == envelope.data:
        return envelope
    return envelope.model_copy(update={"data": data})


def _first_reason(outcomes: Sequence[Outcome]) -> str:
    return next((outcome.reason for outcome in outcomes if outcome.status == "retry"), "")
