"""Transitions of one execution that arrive together in one Orca process are stored together, in
the order they arrived: a wide fan-out is a few writes, not a race of compare-and-sets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from schemas.orca_engine import StartExecution
from tests.authorities import ADMIN
from tests.integration.orca.conftest import Orca, pipeline, stage
from workers.orca.engine.commit import Commit
from workers.orca.engine.model import Execution
from workers.orca.engine.outbox import OutboxRelay
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.plan import new_execution
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.timers import TimerStore

EXECUTION = "01JBATCH0000000000000000AA"


class CountingStore(ExecutionStore):
    """The real store, counting its writes and holding each one until released."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db)
        self.saves = 0
        self.gate = asyncio.Event()

    async def save(self, execution: Execution, outbox: Any, **options: Any) -> None:
        self.saves += 1
        await self.gate.wait()
        await super().save(execution, outbox, **options)


def appending(mark: str) -> Any:
    def transition(execution: Execution, at: int) -> list[Outgoing]:
        execution.description = (execution.description or "") + mark
        return []

    return transition


def failing(execution: Execution, at: int) -> list[Outgoing]:
    execution.description = (execution.description or "") + "!"
    raise ValueError("this transition is refused")


@pytest.fixture
async def committed(db: AsyncDatabase[dict[str, Any]]) -> tuple[Commit, CountingStore]:
    store = CountingStore(db)
    command = StartExecution(authority=ADMIN, execution_id=EXECUTION, pipeline=pipeline(stage("1")))
    assert await store.insert(new_execution(command, 1))
    return Commit(store, OutboxRelay(store, TimerStore(db)), stall_ms=500), store


async def test_transitions_arriving_during_a_write_are_stored_together_in_order(
    committed: tuple[Commit, CountingStore], db: AsyncDatabase[dict[str, Any]]
) -> None:
    commit, store = committed
    bus = MemoryBus(source="/test")
    first = asyncio.create_task(commit.apply(EXECUTION, appending("a"), bus, caused_by=None))
    while store.saves == 0:
        await asyncio.sleep(0.01)
    rest = [asyncio.create_task(commit.apply(EXECUTION, appending(m), bus, caused_by=None)) for m in "bcdefgh"]
    await asyncio.sleep(0.05)
    store.gate.set()
    results = await asyncio.gather(first, *rest)
    stored = await ExecutionStore(db).get(EXECUTION)
    assert stored is not None and stored.description == "abcdefgh"
    assert store.saves == 2, "the seven that waited for the first write are one write"
    assert all(result is not None for result in results)
    assert results[-1] is not None and results[-1].description == "abcdefgh"
    await bus.close()


async def test_a_transition_that_raises_fails_alone(
    committed: tuple[Commit, CountingStore], db: AsyncDatabase[dict[str, Any]]
) -> None:
    commit, store = committed
    bus = MemoryBus(source="/test")
    first = asyncio.create_task(commit.apply(EXECUTION, appending("a"), bus, caused_by=None))
    while store.saves == 0:
        await asyncio.sleep(0.01)
    b = asyncio.create_task(commit.apply(EXECUTION, appending("b"), bus, caused_by=None))
    bad = asyncio.create_task(commit.apply(EXECUTION, failing, bus, caused_by=None))
    c = asyncio.create_task(commit.apply(EXECUTION, appending("c"), bus, caused_by=None))
    await asyncio.sleep(0.05)
    store.gate.set()
    await asyncio.gather(first, b, c)
    with pytest.raises(ValueError, match="refused"):
        await bad
    stored = await ExecutionStore(db).get(EXECUTION)
    assert stored is not None and stored.description == "abc", "nothing of the refused transition is stored"
    await bus.close()


def wide(stages: int) -> dict[str, Any]:
    return pipeline(*(stage(str(i), waitTime=1) for i in range(1, stages + 1)))


async def test_a_wide_fan_out_completes_without_racing_on_the_execution(orca: Orca) -> None:
    execution_id = await orca.start(wide(60))
    finished = await orca.finished(execution_id, timeout=120)
    assert finished["status"] == "SUCCEEDED"
    assert [s["status"] for s in finished["stages"]] == ["SUCCEEDED"] * 60
