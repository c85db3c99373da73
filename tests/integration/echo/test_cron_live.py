"""Two Echo replicas with their real background loops and a per-second cron trigger saved through Front50.

The trigger is saved after both replicas started, so it reaches them through Front50's
``pipeline.saved`` event, not a refresh; both race for every tick and each tick fires once.
"""

from __future__ import annotations

import itertools
from contextlib import AsyncExitStack
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from tests.integration.echo.triggers_support import Recorder, config, db, save_pipelines, until
from workers.echo import worker as echo
from workers.echo.triggers import TriggerOptions
from workers.echo.triggers.cron import CronOptions
from workers.echo.triggers.cron_store import COLLECTION
from workers.front50 import worker as front50

__all__ = ["db"]


async def test_two_replicas_fire_each_tick_of_a_trigger_saved_while_they_run_exactly_once(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    async with AsyncExitStack() as stack:
        bus = MemoryBus(source="/test")
        stack.push_async_callback(bus.close)
        resources = WorkerResources(Settings(), db)
        recorder = await Recorder().start(bus)
        stack.push_async_callback(recorder.stop)
        services = [front50.build_service(resources)] + [
            echo.build_service(
                resources,
                triggers=TriggerOptions(cron=CronOptions(poll_interval=0.05), refresh_seconds=3600, instance=name),
            )
            for name in ("replica-a", "replica-b")
        ]
        for service in services:
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)

        trigger = {"type": "cron", "id": "every-second", "enabled": True, "cronExpression": "* * * * * ?"}
        await save_pipelines(bus, config("tick", trigger))
        await until(lambda: len(recorder.fired) >= 3, timeout=10, what="three cron fires")

    ticks = sorted(fired.scheduled_time or 0 for fired in recorder.fired)
    assert len(ticks) == len(set(ticks)), f"a tick fired twice: {ticks}"
    assert len(recorder.keys()) == len(set(recorder.keys()))
    assert all(later - earlier == 1000 for earlier, later in itertools.pairwise(ticks)), ticks
    claims = await db[COLLECTION].find({}).to_list()
    assert {claim["instance"] for claim in claims} <= {"replica-a", "replica-b"}
    assert set(ticks) <= {claim["tick"] for claim in claims}
