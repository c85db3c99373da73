"""A transition stores what it changed, not the whole execution: one stage of a long pipeline is
one stage written, and what is read back is always the execution as the engine left it."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from schemas.json_types import Json
from schemas.orca_engine import StartExecution
from tests.authorities import ADMIN
from tests.integration.orca.conftest import pipeline, stage
from workers.orca.engine.model import Execution, OutboxEntry, Stage
from workers.orca.engine.plan import new_execution
from workers.orca.engine.status import ExecutionStatus
from workers.orca.engine.store import ExecutionStore, StaleExecution, state


class RecordingStore(ExecutionStore):
    """The store, remembering each update it sent."""

    def __init__(self, db: AsyncDatabase[Json]) -> None:
        super().__init__(db)
        self.updates: list[Json] = []
        update_one = self.collection.update_one

        async def recording(query: Json, change: Json, **kwargs: Any) -> Any:
            self.updates.append(change)
            return await update_one(query, change, **kwargs)

        self.collection.update_one = recording  # type: ignore[method-assign,assignment]


async def stored(db: AsyncDatabase[Json], execution_id: str) -> Execution:
    found = await ExecutionStore(db).get(execution_id)
    assert found is not None
    return found


def entry(n: int) -> OutboxEntry:
    return OutboxEntry(id=f"entry-{n}", envelope={"n": n}, to="orca")


async def test_a_change_to_one_stage_writes_that_stage_and_reads_back_whole(db: AsyncDatabase[Json]) -> None:
    stages = [stage(str(n), requisiteStageRefIds=[str(n - 1)] if n > 1 else []) for n in range(1, 51)]
    command = StartExecution(authority=ADMIN, execution_id="01JCHANGES000000000000000A", pipeline=pipeline(*stages))
    store = RecordingStore(db)
    assert await store.insert(new_execution(command, 1))
    execution = await stored(db, command.execution_id)

    loaded = state(execution)
    execution.status = ExecutionStatus.RUNNING
    execution.stages[7].status = ExecutionStatus.RUNNING
    execution.stages[7].context["greeting"] = "hello"
    await store.save(execution, [entry(1)], loaded=loaded)
    assert set(store.updates[-1]["$set"]) == {"status", "stages.7", "version"}
    assert await stored(db, execution.id) == execution

    # a synthetic stage added: the stages are written whole; a field set back to null is written
    loaded = state(execution)
    execution.stages.append(Stage(id="synthetic", ref_id="8<1", type="wait", name="before", parent_stage_id="x"))
    execution.exception = {"details": {"error": "boom"}}
    await store.save(execution, [entry(2)], loaded=loaded)
    assert {"stages", "exception"} <= set(store.updates[-1]["$set"])
    loaded = state(execution)
    execution.exception = None
    execution.stages[-1].status = ExecutionStatus.SUCCEEDED
    # the caller delivered entry 1 and drops it in the same write
    execution.outbox = [kept for kept in execution.outbox if kept.id != "entry-1"]
    await store.save(execution, [entry(3)], replace_outbox=True, loaded=loaded)
    assert set(store.updates[-1]["$set"]) == {"exception", "stages.50", "outbox", "version"}
    back = await stored(db, execution.id)
    assert back == execution and [kept.id for kept in back.outbox] == ["entry-2", "entry-3"]


async def test_a_change_computed_from_an_older_version_is_refused_whole(db: AsyncDatabase[Json]) -> None:
    command = StartExecution(
        authority=ADMIN, execution_id="01JCHANGES000000000000000B", pipeline=pipeline(stage("1"), stage("2"))
    )
    store = ExecutionStore(db)
    assert await store.insert(new_execution(command, 1))
    ours, theirs = await stored(db, command.execution_id), await stored(db, command.execution_id)

    loaded = state(theirs)
    theirs.stages[1].status = ExecutionStatus.RUNNING
    await store.save(theirs, [], loaded=loaded)

    loaded = state(ours)
    ours.stages[0].status = ExecutionStatus.TERMINAL
    with pytest.raises(StaleExecution):
        await store.save(ours, [entry(1)], loaded=loaded)
    back = await stored(db, command.execution_id)
    assert back == theirs and back.stages[0].status is ExecutionStatus.NOT_STARTED and back.outbox == []
