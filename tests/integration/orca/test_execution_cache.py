"""Each Orca process keeps the executions it just wrote, so a transition need not read them back;
a copy made stale by another replica never loses or misapplies a transition."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from schemas.orca_engine import StartExecution, StartStage
from tests.authorities import ADMIN
from tests.integration.orca.conftest import pipeline, stage
from workers.orca.engine.commit import Commit
from workers.orca.engine.model import Execution
from workers.orca.engine.outbox import OutboxRelay
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.plan import new_execution
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.timers import TimerStore


def replica(db: AsyncDatabase[dict[str, Any]]) -> Commit:
    store = ExecutionStore(db)
    return Commit(store, OutboxRelay(store, TimerStore(db)), stall_ms=500)


def moving(execution: Execution, description: str) -> list[Outgoing]:
    """A transition that changes the execution and sends a command to be handled now."""
    execution.description = description
    return [Outgoing(StartStage(execution_id=execution.id, stage_id=execution.stages[0].id))]


async def started(db: AsyncDatabase[dict[str, Any]]) -> str:
    command = StartExecution(authority=ADMIN, execution_id="01JCACHE0000000000000000AA", pipeline=pipeline(stage("1")))
    assert await ExecutionStore(db).insert(new_execution(command, 1))
    return command.execution_id


async def test_a_stale_copy_is_never_saved(db: AsyncDatabase[dict[str, Any]]) -> None:
    bus = MemoryBus(source="/test")
    a, b = replica(db), replica(db)
    execution_id = await started(db)
    await a.apply(execution_id, lambda ex, at: moving(ex, "a"), bus, caused_by=None)
    assert a.cache.get(execution_id) is not None
    await b.apply(execution_id, lambda ex, at: moving(ex, (ex.description or "") + "+b"), bus, caused_by=None)
    result = await a.apply(execution_id, lambda ex, at: moving(ex, (ex.description or "") + "+a"), bus, caused_by=None)
    assert result is not None and result.description == "a+b+a"
    stored = await ExecutionStore(db).get(execution_id)
    assert stored is not None and stored.description == "a+b+a" and stored.version == 3
    await bus.close()


async def test_a_transition_that_finds_nothing_to_do_in_the_cache_asks_the_store(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    bus = MemoryBus(source="/test")
    a, b = replica(db), replica(db)
    execution_id = await started(db)
    await a.apply(execution_id, lambda ex, at: moving(ex, "a"), bus, caused_by=None)
    await b.apply(execution_id, lambda ex, at: moving(ex, "ready"), bus, caused_by=None)

    def only_when_ready(execution: Execution, at: int) -> list[Outgoing]:
        return moving(execution, "done") if execution.description == "ready" else []

    result = await a.apply(execution_id, only_when_ready, bus, caused_by=None)
    assert result is not None and result.description == "done"
    await bus.close()


async def test_delivered_entries_leave_the_stored_outbox_with_the_next_save(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    bus = MemoryBus(source="/test")
    a = replica(db)
    execution_id = await started(db)
    await a.apply(execution_id, lambda ex, at: moving(ex, "one"), bus, caused_by=None)
    document = await db["orca_executions"].find_one({"_id": execution_id})
    assert document is not None and len(document["outbox"]) == 1  # delivered, not yet removed
    await a.apply(execution_id, lambda ex, at: moving(ex, "two"), bus, caused_by=None)
    document = await db["orca_executions"].find_one({"_id": execution_id})
    assert document is not None and len(document["outbox"]) == 1  # the first went with this write
    assert await a.relay.pull_delivered() == 1
    document = await db["orca_executions"].find_one({"_id": execution_id})
    assert document is not None and document["outbox"] == []
    await bus.close()
