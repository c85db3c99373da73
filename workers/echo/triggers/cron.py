"""Cron triggers: start pipelines on their Quartz (or 5-field) schedule, once per tick across replicas.

A trigger ``{type: "cron", cronExpression, enabled, id, runAsUser, timeZone, misfirePolicy}``
fires at each tick of ``cronExpression`` in ``timeZone`` (an IANA name; default UTC: Spinnaker
has one ``scheduler.cron.timezone`` for all triggers, Gennaker lets each choose). Each pass, for
each trigger, the ticks since its resume point (:mod:`workers.echo.triggers.cron_store`) are
handled in order:

* a tick at most ``misfire_threshold_ms`` old (Quartz's ``misfireThreshold``, 60 s) fires;
* an older one is a *misfire* (Echo was down): ``misfirePolicy`` ``"fireOnceNow"`` (Quartz's
  ``MISFIRE_INSTRUCTION_FIRE_ONCE_NOW``, the default) fires once now for the whole missed
  stretch, ``"doNothing"`` skips it; either way the schedule resumes with the first tick after
  now, as Quartz's does.

Every tick is claimed in MongoDB before anything is sent, so two replicas never fire one tick
twice; the execution is keyed by (trigger, tick), so a re-sent fire starts one execution. A
trigger first seen has nothing missed: its first tick is the next one after now. Nor is a tick
before the config's last save (``updateTs``) missed: a trigger disabled for a week and enabled
again starts with its next tick, as in Spinnaker, where enabling creates a new Quartz trigger.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from bus import Bus, BusError
from schemas.cron_expression import CronExpression, InvalidCronExpression
from schemas.json_types import Json
from workers.echo.triggers.cron_store import CronFires, Outcome
from workers.echo.triggers.keys import fire_key
from workers.echo.triggers.pipelines import PipelineIndex
from workers.echo.triggers.starts import RunAs, execution_trigger, start_pipeline

log = structlog.get_logger("gennaker.echo.cron")

MISFIRE_POLICIES = ("fireOnceNow", "doNothing")
_MAX_TICKS_PER_PASS = 100


@dataclass(frozen=True)
class CronOptions:
    """How often the scheduler looks, how late a tick may fire, and after how long a lost send is redone."""

    poll_interval: float = 1.0
    misfire_threshold_ms: int = 60_000
    resend_after_ms: int = 30_000
    default_time_zone: str = "UTC"


def system_now_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def trigger_key(config: Json, trigger: Json) -> str:
    """What names a cron trigger across saves: its config and its ``id`` (else its expression and zone)."""
    identity = (
        trigger.get("id")
        or hashlib.sha256(f"{trigger.get('cronExpression')}|{trigger.get('timeZone')}".encode()).hexdigest()[:16]
    )
    return f"{config['id']}:{identity}"


def _saved_at(config: Json) -> int:
    """When the config was last saved (Front50's ``updateTs``, epoch ms); 0 when unknown."""
    try:
        return int(config.get("updateTs") or 0)
    except (TypeError, ValueError):
        return 0


def _instant(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


class CronScheduler:
    """Fires the cron triggers of the pipeline configs in ``index``; :meth:`run` is Echo's background loop."""

    def __init__(
        self,
        index: PipelineIndex,
        fires: CronFires,
        *,
        options: CronOptions | None = None,
        now_ms: Callable[[], int] = system_now_ms,
        instance: str = "echo",
        identity: RunAs | None = None,
    ) -> None:
        self.identity = identity or RunAs()
        self.index = index
        self.fires = fires
        self.options = options or CronOptions()
        self.now_ms = now_ms
        self.instance = instance
        self._resume: dict[str, int] = {}
        self._expressions: dict[str, CronExpression | None] = {}

    async def run(self, bus: Bus) -> None:
        """Refresh the configs when stale and fire what is due, every ``poll_interval`` seconds."""
        while True:
            try:
                await self.index.ensure_loaded(bus)
            except BusError as error:
                log.warning("pipeline configs not refreshed: Front50 did not answer", error=str(error))
            if self.index.loaded:
                await self.fire_due(bus)
            await asyncio.sleep(self.options.poll_interval)

    async def fire_due(self, bus: Bus) -> None:
        """One pass: handle every due tick of every enabled cron trigger, then redo lost sends."""
        now = self.now_ms()
        for config, trigger in self.index.triggers("cron"):
            try:
                await self._handle(bus, config, trigger, now)
            except BusError as error:
                log.warning("cron trigger not handled; next pass retries", config=config.get("id"), error=str(error))
        await self._resend_lost(bus, now)

    async def _handle(self, bus: Bus, config: Json, trigger: Json, now: int) -> None:
        expression, zone = self._schedule(config, trigger)
        if expression is None or zone is None:
            return
        key = trigger_key(config, trigger)
        resume = self._resume.get(key)
        if resume is None:
            resume = await self.fires.resume_point(key)
            if resume is None:
                resume = now
        resume = max(resume, min(_saved_at(config), now))
        policy = trigger.get("misfirePolicy") or "fireOnceNow"
        for _ in range(_MAX_TICKS_PER_PASS):
            following = expression.next_after(_instant(resume), zone)
            if following is None or _ms(following) > now:
                break
            tick = _ms(following)
            if now - tick <= self.options.misfire_threshold_ms:
                if await self.fires.claim(key, tick, resume_after=tick, outcome="fired", **self._claim(config, now)):
                    await self._fire(bus, config, trigger, key, tick, misfire=False)
                resume = tick
                continue
            outcome: Outcome = "fired-late" if policy != "doNothing" else "skipped"
            claimed = await self.fires.claim(key, tick, resume_after=now, outcome=outcome, **self._claim(config, now))
            if claimed and outcome == "fired-late":
                await self._fire(bus, config, trigger, key, tick, misfire=True)
            elif claimed:
                log.info("missed cron ticks skipped (misfirePolicy doNothing)", config=config["id"], first_missed=tick)
            resume = now if claimed else (await self.fires.resume_point(key) or now)
        self._resume[key] = resume

    def _claim(self, config: Json, now: int) -> Json:
        return {"instance": self.instance, "now": now, "pipeline": str(config["id"])}

    async def _fire(self, bus: Bus, config: Json, trigger: Json, key: str, tick: int, *, misfire: bool) -> None:
        idempotency_key = fire_key(f"cron/{key}/{tick}", tick)
        details: Json = {"type": "cron", "eventId": idempotency_key}
        if misfire:
            details["misfire"] = True
        await start_pipeline(
            bus,
            config,
            execution_trigger(trigger, **details),
            key=idempotency_key,
            trigger_type="cron",
            scheduled_time=tick,
            misfire=misfire,
            identity=self.identity,
        )
        await self.fires.mark_sent(key, tick)

    async def _resend_lost(self, bus: Bus, now: int) -> None:
        for lost in await self.fires.unsent(now - self.options.resend_after_ms):
            found = next(
                (
                    (config, trigger)
                    for config, trigger in self.index.triggers("cron")
                    if trigger_key(config, trigger) == lost["trigger"]
                ),
                None,
            )
            if found is None:
                await self.fires.mark_sent(lost["trigger"], lost["tick"])
                continue
            log.warning("re-sending a cron fire whose replica died before sending it", trigger=lost["trigger"])
            await self._fire(bus, *found, lost["trigger"], lost["tick"], misfire=lost["outcome"] == "fired-late")

    def _schedule(self, config: Json, trigger: Json) -> tuple[CronExpression | None, ZoneInfo | None]:
        text = str(trigger.get("cronExpression") or "")
        if text not in self._expressions:
            try:
                self._expressions[text] = CronExpression.parse(text)
            except InvalidCronExpression as error:
                self._expressions[text] = None
                log.warning("cron trigger ignored: invalid cronExpression", config=config.get("id"), error=str(error))
        name = str(trigger.get("timeZone") or self.options.default_time_zone)
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("cron trigger ignored: unknown timeZone", config=config.get("id"), time_zone=name)
            zone = None
        return self._expressions[text], zone
