"""Cron triggers over a real store: each tick fires once, across replicas and restarts, with misfire policies.

The scheduler's clock is a hand-turned one; Orca's command queue is taken by a recorder, so each
test sees exactly the ``orca.TriggerPipeline`` commands Echo sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from bus.service import ServiceHost
from gateway.command_results import CommandResults
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.authority import Authority
from schemas.front50 import SaveServiceAccount
from schemas.json_types import Json
from tests.authorities import ADMIN
from tests.integration.echo.triggers_support import Recorder, config, db, until
from workers.echo.triggers.cron import CronOptions, CronScheduler, trigger_key
from workers.echo.triggers.cron_store import COLLECTION, CronFires
from workers.echo.triggers.pipelines import PipelineIndex
from workers.front50 import worker as front50_worker

__all__ = ["db"]

T0 = int(datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC).timestamp() * 1000)
MINUTE = 60_000


class Clock:
    """A clock that moves only when told."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def every_minute(**fields: Any) -> Json:
    return {"type": "cron", "id": "t1", "enabled": True, "cronExpression": "0 * * * * ?", **fields}


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus(source="/test")
    try:
        yield bus
    finally:
        await bus.close()


@pytest.fixture
async def recorder(bus: MemoryBus) -> AsyncIterator[Recorder]:
    recorder = await Recorder().start(bus)
    try:
        yield recorder
    finally:
        await recorder.stop()


def scheduler(db: AsyncDatabase[dict[str, Any]], clock: Clock, *configs: Json, instance: str = "a") -> CronScheduler:
    index = PipelineIndex()
    index.replace_all(list(configs))
    return CronScheduler(index, CronFires(db), options=CronOptions(), now_ms=clock, instance=instance)


async def settled(recorder: Recorder, count: int) -> list[str]:
    await until(lambda: len(recorder.commands) >= count, what=f"{count} TriggerPipeline commands")
    await asyncio.sleep(0.05)
    return recorder.keys()


async def test_a_new_trigger_fires_at_its_next_tick_and_once_per_tick(
    db: AsyncDatabase[dict[str, Any]], bus: MemoryBus, recorder: Recorder
) -> None:
    front50 = ServiceHost(bus, front50_worker.build_service(WorkerResources(Settings(), db)))
    await front50.start()
    robot = {"name": "robot@example.com", "memberOf": ["Deployers"]}
    await CommandResults(bus).send(SaveServiceAccount(service_account=robot, authority=ADMIN))
    clock = Clock(T0)
    cron = scheduler(db, clock, config("p1", every_minute(runAsUser="robot@example.com")))
    await cron.fire_due(bus)  # first sight: nothing was missed
    clock.now = T0 + 30_000  # 12:01:00, the next tick
    await cron.fire_due(bus)
    await cron.fire_due(bus)

    keys = await settled(recorder, 1)
    assert len(keys) == 1
    command = recorder.commands[0]
    assert (command.application, command.pipeline_name_or_id) == ("shop", "p1")
    assert command.trigger["type"] == "cron"
    assert command.trigger["user"] == "robot@example.com"
    assert command.trigger["cronExpression"] == "0 * * * * ?"
    assert command.trigger["eventId"] == command.idempotency_key
    # the pipeline runs as the service account, with the roles Front50 gives it
    assert command.authority == Authority(user="robot@example.com", roles=("deployers",), service_account=True)
    await until(lambda: len(recorder.fired) == 1)
    assert recorder.fired[0].scheduled_time == T0 + 30_000 and not recorder.fired[0].misfire
    await front50.stop()


async def test_a_trigger_whose_run_as_user_is_no_service_account_fires_nothing(
    db: AsyncDatabase[dict[str, Any]], bus: MemoryBus, recorder: Recorder
) -> None:
    front50 = ServiceHost(bus, front50_worker.build_service(WorkerResources(Settings(), db)))
    await front50.start()
    clock = Clock(T0)
    cron = scheduler(db, clock, config("p1", every_minute(runAsUser="nobody-made-me")))
    await cron.fire_due(bus)
    clock.now = T0 + 30_000
    await cron.fire_due(bus)
    await asyncio.sleep(0.3)
    assert recorder.commands == [], "a runAsUser that is no service account must not run as anybody"
    await front50.stop()


async def test_a_trigger_without_run_as_user_runs_as_everybody_while_authentication_is_off(
    db: AsyncDatabase[dict[str, Any]], bus: MemoryBus, recorder: Recorder
) -> None:
    clock = Clock(T0)
    cron = scheduler(db, clock, config("p1", every_minute()))
    await cron.fire_due(bus)
    clock.now = T0 + 30_000
    await cron.fire_due(bus)
    await settled(recorder, 1)
    assert recorder.commands[0].authority == Authority.anonymous_admin()


async def test_disabled_triggers_and_configs_and_invalid_expressions_never_fire(
    db: AsyncDatabase[dict[str, Any]], bus: MemoryBus, recorder: Recorder
) -> None:
    clock = Clock(T0)
    cron = scheduler(
        db,
        clock,
        config("off", every_minute(enabled=False)),
        config("disabled", every_minute(), disabled=True),
        config("bad", every_minute(cronExpression="0 0 25 * * ?")),
        config("zone", every_minute(timeZone="Mars/Olympus")),
        config("on", every_minute()),
    )
    await cron.fire_due(bus)
    clock.now += MINUTE
    await cron.fire_due(bus)
    await settled(recorder, 1)
    assert [c.pipeline_name_or_id for c in recorder.commands] == ["on"]


async def test_two_replicas_never_fire_the_same_tick_twice(
    db: AsyncDatabase[dict[str, Any]], bus: MemoryBus, recorder: Recorder
) -> None:
    configs = [config(f"p{i}", every_minute(cronExpression="0/10 * * * * ?")) for i in range(3)]
    clock = Clock(T0)
    replicas = [scheduler(db, clock, *configs, instance=name) for name in ("a", "b")]
    for _ in range(6):  # one minute in 10-second ticks, both replicas racing at every step
        await asyncio.gather(*(replica.fire_due(bus) for replica in replicas))
        clock.now += 10_000

    keys = await settled(recorder, 15)
    assert len(keys) == len(set(keys)) == 15  # 3 triggers, 5 ticks each after the first sight
    claims = await db[COLLECTION].find({}).to_list()
    assert {claim["instance"] for claim in claims} <= {"a", "b"}
    assert len(claims) == 15


async def test_restart_fires_once_now_for_ticks_missed_while_down(
    db: AsyncDatabase[dict[str, Any]], bus: MemoryBus, recorder: Recorder
) -> None:
    clock = Clock(T0)
    first = scheduler(db, clock, config("p1", every_minute()))
    await first.fire_due(bus)
    clock.now += 30_000
    await first.fire_due(bus)  # fires 12:01:00, then "Echo goes down"
    await settled(recorder, 1)

    clock.now += 10 * MINUTE  # 12:11:00: ten ticks were due while down
    second = scheduler(db, clock, config("p1", every_minute()), instance="b")
    await second.fire_due(bus)
    await second.fire_due(bus)

    keys = await settled(recorder, 2)
    assert len(keys) == 2
    await until(lambda: len(recorder.fired) == 2)
    late = recorder.fired[1]
    assert late.misfire and late.scheduled_time == T0 + 30_000 + MINUTE  # the first missed tick
    assert recorder.commands[1].trigger["misfire"] is True

    clock.now += MINUTE  # back on schedule: 12:12:00 fires normally
    await second.fire_due(bus)
    await settled(recorder, 3)
    await until(lambda: len(recorder.fired) == 3)
    assert not recorder.fired[2].misfire


async def test_do_nothing_policy_skips_missed_ticks_and_resumes(
    db: AsyncDatabase[dict[str, Any]], bus: MemoryBus, recorder: Recorder
) -> None:
    trigger = every_minute(misfirePolicy="doNothing")
    clock = Clock(T0)
    first = scheduler(db, clock, config("p1", trigger))
    await first.fire_due(bus)
    clock.now += 30_000
    await first.fire_due(bus)
    await settled(recorder, 1)

    clock.now += 10 * MINUTE + 5_000  # 12:11:05: every tick since 12:02:00 is past due, none fires
    second = scheduler(db, clock, config("p1", trigger), instance="b")
    await second.fire_due(bus)
    assert await db[COLLECTION].count_documents({"outcome": "skipped"}) == 1

    clock.now += MINUTE  # 12:12:05: the next tick fires as scheduled
    await second.fire_due(bus)
    await settled(recorder, 2)
    await until(lambda: len(recorder.fired) == 2)
    assert not recorder.fired[1].misfire
    assert recorder.fired[1].scheduled_time == T0 + 30_000 + 11 * MINUTE
    assert len(recorder.commands) == 2


async def test_a_fire_claimed_by_a_replica_that_died_before_sending_is_sent_by_another(
    db: AsyncDatabase[dict[str, Any]], bus: MemoryBus, recorder: Recorder
) -> None:
    clock = Clock(T0)
    pipeline = config("p1", every_minute())
    key = trigger_key(pipeline, pipeline["triggers"][0])
    await CronFires(db).claim(key, T0 - 30_000, resume_after=T0 - 30_000, outcome="fired", instance="dead", now=T0)
    cron = scheduler(db, clock, pipeline, instance="b")
    clock.now += 40_000  # past resend_after_ms (30 s) since the claim; 12:01:00 is also due
    await cron.fire_due(bus)

    await settled(recorder, 2)
    await until(lambda: len(recorder.fired) == 2)
    assert sorted(f.scheduled_time or 0 for f in recorder.fired) == [T0 - 30_000, T0 + 30_000]
    assert await db[COLLECTION].count_documents({"sent": False}) == 0


async def test_ticks_before_the_configs_last_save_are_not_misfires(
    db: AsyncDatabase[dict[str, Any]], bus: MemoryBus, recorder: Recorder
) -> None:
    clock = Clock(T0)
    first = scheduler(db, clock, config("p1", every_minute()))
    await first.fire_due(bus)
    clock.now += 30_000
    await first.fire_due(bus)
    await settled(recorder, 1)

    clock.now += 60 * MINUTE  # disabled for an hour, then enabled again (saved) a moment ago
    enabled_again = config("p1", every_minute(), updateTs=str(clock.now - 5_000))
    second = scheduler(db, clock, enabled_again, instance="b")
    await second.fire_due(bus)  # 13:01:00 is due and on time; nothing before the save is a misfire
    await settled(recorder, 2)
    await until(lambda: len(recorder.fired) == 2)
    assert not recorder.fired[1].misfire
    assert recorder.fired[1].scheduled_time == clock.now
