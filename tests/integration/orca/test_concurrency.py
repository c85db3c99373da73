"""``limitConcurrent`` and ``keepWaitingPipelines``: one execution of a pipeline config runs at a time."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest
from ulid import ULID

from bus import Bus, Envelope
from schemas import parse_cloudevent_type
from schemas.json_types import Json
from schemas.orca_engine import CancelExecution, StartExecution
from tests.authorities import admin
from tests.integration.orca.conftest import Orca, pipeline, stage
from workers.orca.engine.concurrency import WaitingExecutions
from workers.orca.engine.model import Execution


def limited(*, keep_waiting: bool, wait: float = 0.3) -> Json:
    return pipeline(stage("1", waitTime=wait), limitConcurrent=True, keepWaitingPipelines=keep_waiting)


def status(expected: str) -> Callable[[Json], bool]:
    return lambda execution: execution["status"] == expected


async def test_second_execution_waits_for_the_first(orca: Orca) -> None:
    first = await orca.start(limited(keep_waiting=True))
    await orca.until(first, status("RUNNING"))
    second = await orca.start(limited(keep_waiting=True))
    assert (await orca.until(second, status("BUFFERED")))["stages"][0]["status"] == "NOT_STARTED"
    await orca.finished(first)
    assert (await orca.finished(second))["status"] == "SUCCEEDED"
    assert (await orca.get(second))["startTime"] >= (await orca.get(first))["endTime"]


async def test_without_keep_waiting_only_the_newest_waiting_runs(orca: Orca) -> None:
    first = await orca.start(limited(keep_waiting=False, wait=2))  # still running when the third arrives
    await orca.until(first, status("RUNNING"))
    second = await orca.start(limited(keep_waiting=False))
    await orca.until(second, status("BUFFERED"))
    third = await orca.start(limited(keep_waiting=False))
    await orca.until(third, status("BUFFERED"))
    purged = await orca.finished(second)  # canceled as soon as the newer one arrived
    assert (purged["status"], purged["canceledBy"]) == ("CANCELED", "spinnaker")
    assert (await orca.get(first))["status"] == "RUNNING"
    await orca.finished(first)
    assert (await orca.finished(third))["status"] == "SUCCEEDED"


async def test_with_keep_waiting_they_run_in_order(orca: Orca) -> None:
    ids = [await orca.start(limited(keep_waiting=True, wait=0.15))]
    await orca.until(ids[0], status("RUNNING"))
    for _ in range(2):
        ids.append(await orca.start(limited(keep_waiting=True, wait=0.15)))
        await orca.until(ids[-1], status("BUFFERED"))
    executions = [await orca.finished(execution_id) for execution_id in ids]
    assert [execution["status"] for execution in executions] == ["SUCCEEDED"] * 3
    assert executions[1]["startTime"] >= executions[0]["endTime"]
    assert executions[2]["startTime"] >= executions[1]["endTime"]


async def test_cancelling_a_waiting_execution_moves_the_queue(orca: Orca) -> None:
    first = await orca.start(limited(keep_waiting=True, wait=60))  # still running whatever the machine's load
    await orca.until(first, status("RUNNING"))
    second = await orca.start(limited(keep_waiting=True))
    third = await orca.start(limited(keep_waiting=True))
    await orca.until(third, status("BUFFERED"))
    await orca.send(CancelExecution(execution_id=second, authority=admin("ana"), reason="not this one"))
    assert (await orca.finished(second))["status"] == "CANCELED"
    assert (await orca.get(first))["status"] == "RUNNING", "cancelling a waiting one starts nothing early"
    assert (await orca.get(third))["status"] == "BUFFERED"
    await orca.send(CancelExecution(execution_id=first, authority=admin("ana")))
    assert (await orca.finished(third))["status"] == "SUCCEEDED"


async def test_cancelling_the_running_one_starts_the_next(orca: Orca) -> None:
    first = await orca.start(limited(keep_waiting=True, wait=5))
    await orca.until(first, status("RUNNING"))
    second = await orca.start(limited(keep_waiting=True))
    await orca.until(second, status("BUFFERED"))
    await orca.send(CancelExecution(execution_id=first, authority=admin("ana")))
    assert (await orca.finished(second))["status"] == "SUCCEEDED"


async def test_concurrent_starts_run_exactly_one(orca: Orca) -> None:
    ids = [str(ULID()) for _ in range(4)]
    config = limited(keep_waiting=True, wait=3.0)
    await asyncio.gather(*(orca.start(config, execution_id=execution_id) for execution_id in ids))
    await orca.until_event(lambda event: event.subject in ids and "execution.started" in event.type)
    await asyncio.sleep(0.2)  # a second start, were there one, would have come by now
    executions = [await orca.until(i, lambda e: e["status"] in ("RUNNING", "BUFFERED")) for i in ids]
    assert sorted(execution["status"] for execution in executions) == ["BUFFERED"] * 3 + ["RUNNING"]


async def test_concurrent_starts_never_overlap(orca: Orca) -> None:
    ids = [str(ULID()) for _ in range(5)]
    config = limited(keep_waiting=True, wait=0.05)
    await asyncio.gather(*(orca.start(config, execution_id=execution_id) for execution_id in ids))
    executions = sorted([await orca.finished(i) for i in ids], key=lambda execution: execution["startTime"])
    assert [execution["status"] for execution in executions] == ["SUCCEEDED"] * 5
    for earlier, later in itertools.pairwise(executions):
        assert later["startTime"] >= earlier["endTime"], "two executions of one config ran at once"


async def test_unlimited_executions_run_side_by_side(orca: Orca) -> None:
    config = pipeline(stage("1", waitTime=0.3), limitConcurrent=False)
    ids = [await orca.start(config) for _ in range(2)]
    for execution_id in ids:
        await orca.until(execution_id, status("RUNNING"))


async def test_a_pass_that_dies_after_taking_the_slot_is_finished_by_its_redelivery(
    orca: Orca, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await orca.start(limited(keep_waiting=True, wait=0.2))
    await orca.until(first, status("RUNNING"))
    second = await orca.start(limited(keep_waiting=True))
    await orca.until(second, status("BUFFERED"))
    start = WaitingExecutions._start
    crashes: list[str] = []

    async def crash_once(
        self: WaitingExecutions, execution: Execution, bus: Bus, caused_by: Envelope | None, redelivered: bool
    ) -> None:
        if not crashes:
            crashes.append(execution.id)
            raise ConnectionError("the worker died after taking the slot")
        await start(self, execution, bus, caused_by, redelivered)

    monkeypatch.setattr(WaitingExecutions, "_start", crash_once)
    await orca.finished(first)
    assert (await orca.finished(second))["status"] == "SUCCEEDED"
    assert crashes == [second]


async def test_a_start_that_must_wait_is_answered_at_once_as_buffered(orca: Orca) -> None:
    first = await orca.start(limited(keep_waiting=True, wait=5))
    await orca.until(first, status("RUNNING"))
    command = await orca.send(
        StartExecution(execution_id=str(ULID()), pipeline=limited(keep_waiting=True), authority=admin("ana"))
    )
    answer = await orca.until_event(lambda envelope: envelope.causationid == command.id)
    assert parse_cloudevent_type(answer.type)[0] == "orca.execution.buffered"
    assert answer.data["execution_id"] == command.data["execution_id"]
    assert (await orca.get(command.data["execution_id"]))["status"] == "BUFFERED"
