"""The embedded store keeps what PyMongo wrote across a stop and a restart, and refuses duplicate ids."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from bson.int64 import Int64
from pymongo.errors import DuplicateKeyError, OperationFailure

from gennaker.store import EmbeddedStore, StoreUnavailable, check_reachable, mongo_client
from gennaker.store_engine import StringIdSQLiteEngine
from schemas.orca_engine import StartExecution
from tests.authorities import ADMIN
from workers.orca.engine.plan import new_execution
from workers.orca.engine.status import ExecutionStatus
from workers.orca.engine.store import ExecutionStore


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data" / "store.sqlite"
    async with EmbeddedStore(path) as store:
        client = mongo_client(store.url)
        applications = client["gennaker"]["applications"]
        await applications.create_index("name", unique=True)
        await applications.insert_one({"name": "billing", "email": "team@example.com"})
        await applications.find_one_and_update({"name": "billing"}, {"$set": {"version": 2}})
        await client.close()
    assert path.is_file()

    async with EmbeddedStore(path) as restarted:
        client = mongo_client(restarted.url)
        applications = client["gennaker"]["applications"]
        found = await applications.find_one({"name": "billing"}, {"_id": 0})
        assert found == {"name": "billing", "email": "team@example.com", "version": 2}
        with pytest.raises(DuplicateKeyError):
            await applications.insert_one({"name": "billing"})
        await client.close()


async def test_url_is_a_direct_mongodb_url(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store.sqlite")
    with pytest.raises(RuntimeError, match="not running"):
        _ = store.url
    url = await store.start()
    try:
        assert url.startswith("mongodb://127.0.0.1:") and url.endswith("/?directConnection=true")
        assert await store.start() == url
    finally:
        await store.close()
        await store.close()


async def test_unreachable_server_is_reported_with_the_fix() -> None:
    url = "mongodb://127.0.0.1:9/?directConnection=true"
    client = mongo_client(url, timeout=0.5)
    try:
        with pytest.raises(StoreUnavailable, match="GENNAKER_MONGO_URL"):
            await check_reachable(client, url, timeout=2)
    finally:
        await client.close()


async def test_duplicate_ids_are_refused_and_a_string_id_insert_reads_no_other_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[str] = []
    load_documents = StringIdSQLiteEngine._load_documents

    def counting(self: StringIdSQLiteEngine, db_name: str, coll_name: str, *args: Any, **kwargs: Any) -> Any:
        scans.append(coll_name)
        return load_documents(self, db_name, coll_name, *args, **kwargs)

    monkeypatch.setattr(StringIdSQLiteEngine, "_load_documents", counting)
    async with EmbeddedStore(tmp_path / "store.sqlite") as store:
        client = mongo_client(store.url)
        executions = client["gennaker"]["executions"]
        for n in range(50):
            await executions.insert_one({"_id": f"01EXECUTION{n:04d}", "status": "RUNNING"})
        assert scans == []
        with pytest.raises(DuplicateKeyError):
            await executions.insert_one({"_id": "01EXECUTION0007", "status": "SUCCEEDED"})

        numbers = client["gennaker"]["numbers"]
        await numbers.insert_one({"_id": 1})
        with pytest.raises(DuplicateKeyError):  # numerically equal ids of other types still collide
            await numbers.insert_one({"_id": Int64(1)})
        assert "numbers" in scans
        assert await executions.count_documents({}) == 50
        assert (await executions.find_one({"_id": "01EXECUTION0007"}) or {}).get("status") == "RUNNING"
        await client.close()


async def test_writes_filtered_by_id_and_more_match_as_mongodb_does_without_compiling_a_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[str] = []
    compile_plan = StringIdSQLiteEngine._compile_read_execution_plan

    def counting(self: StringIdSQLiteEngine, db_name: str, coll_name: str, *args: Any, **kwargs: Any) -> Any:
        compiled.append(coll_name)
        return compile_plan(self, db_name, coll_name, *args, **kwargs)

    monkeypatch.setattr(StringIdSQLiteEngine, "_compile_read_execution_plan", counting)
    async with EmbeddedStore(tmp_path / "store.sqlite") as store:
        client = mongo_client(store.url)
        executions = client["gennaker"]["executions"]
        await executions.insert_many([{"_id": f"e{n}", "version": 1, "status": "RUNNING"} for n in range(20)])
        compiled.clear()

        stale = await executions.update_one({"_id": "e3", "version": 0}, {"$set": {"status": "X"}})
        fresh = await executions.update_one({"_id": "e3", "version": 1}, {"$set": {"status": "PAUSED", "version": 2}})
        assert (stale.matched_count, fresh.matched_count) == (0, 1)
        replaced = await executions.replace_one({"_id": "e4", "version": 1}, {"version": 2, "status": "SUCCEEDED"})
        assert replaced.matched_count == 1
        taken = await executions.find_one_and_update(
            {"_id": "e5", "status": {"$in": ["RUNNING", "PAUSED"]}}, {"$set": {"status": "CANCELED"}}
        )
        assert taken is not None and taken["status"] == "RUNNING"
        assert (await executions.delete_one({"_id": "e6", "status": "SUCCEEDED"})).deleted_count == 0
        assert (await executions.delete_one({"_id": "e6", "status": "RUNNING"})).deleted_count == 1
        assert compiled == []

        statuses = {document["_id"]: document["status"] async for document in executions.find({}, {"status": 1})}
        assert (statuses["e3"], statuses["e4"], statuses["e5"], "e6" in statuses) == (
            "PAUSED",
            "SUCCEEDED",
            "CANCELED",
            False,
        )
        assert sum(status == "RUNNING" for status in statuses.values()) == 16
        await client.close()


async def test_writes_keep_no_change_journal_and_transactions_still_commit_or_abort(tmp_path: Path) -> None:
    """Change streams are not served through the wire server, so no write pays for journaling one."""
    path = tmp_path / "store.sqlite"
    async with EmbeddedStore(path) as store:
        client = mongo_client(store.url)
        executions = client["gennaker"]["executions"]
        await executions.insert_one({"_id": "e1", "version": 1, "stages": [{"status": "NOT_STARTED"}]})
        await executions.insert_many([{"_id": f"e{n}", "version": 1} for n in range(2, 6)])
        await executions.update_one({"_id": "e1", "version": 1}, {"$set": {"stages.0.status": "RUNNING", "version": 2}})
        await executions.replace_one({"_id": "e2"}, {"version": 2})
        await executions.update_one({"_id": "e9"}, {"$set": {"version": 1}}, upsert=True)
        await executions.delete_one({"_id": "e3", "version": 1})
        await executions.find_one_and_update({"_id": "e4"}, {"$set": {"version": 2}})
        async with client.start_session() as session, await session.start_transaction():
            await executions.update_one({"_id": "e5"}, {"$set": {"version": 2}}, session=session)
            await executions.insert_one({"_id": "e10", "version": 1}, session=session)
        with pytest.raises(RuntimeError, match="rolled back"):
            async with client.start_session() as session, await session.start_transaction():
                await executions.update_one({"_id": "e5"}, {"$set": {"version": 3}}, session=session)
                raise RuntimeError("rolled back")
        versions = {document["_id"]: document["version"] async for document in executions.find({})}
        assert versions == {"e1": 2, "e2": 2, "e4": 2, "e5": 2, "e9": 1, "e10": 1}
        assert (await executions.find_one({"_id": "e1"}) or {})["stages"] == [{"status": "RUNNING"}]
        await client.close()
    with contextlib.closing(sqlite3.connect(path)) as database:
        tables = {name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        journals = sorted(tables & {"change_outbox", "change_outbox_identities"})
        assert journals, f"mongoeco's change journal tables were renamed: {sorted(tables)}"
        assert [database.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in journals] == [0, 0]


@pytest.mark.parametrize(
    "name",
    ["_validate_document_against_unique_indexes", "_select_first_document_for_plan", "_open_scan_documents_sync"],
)
def test_the_overridden_private_methods_still_exist_in_mongoeco_with_the_same_parameters(name: str) -> None:
    """mongoeco is pinned because these are private: an upgrade that renames or reshapes one fails here."""
    from mongoeco.engines.sqlite import SQLiteEngine

    ours = inspect.signature(getattr(StringIdSQLiteEngine, name))
    theirs = inspect.signature(getattr(SQLiteEngine, name))
    assert [(p.name, p.kind) for p in ours.parameters.values()] == [
        (p.name, p.kind) for p in theirs.parameters.values()
    ]


@pytest.mark.parametrize(
    "name", ["insert_document", "insert_documents", "merge_document", "update_with_operation", "delete_with_operation"]
)
def test_the_writes_that_journal_changes_still_take_an_operation_context(name: str) -> None:
    """The engine strips change publication from these writes' ``operation_context``; a mongoeco that
    renames one (or its ``operation`` argument) would journal again unnoticed, so it fails here."""
    from mongoeco.engines.sqlite import SQLiteEngine

    parameters = list(inspect.signature(getattr(SQLiteEngine, name)).parameters)
    assert "operation_context" in parameters
    if name.endswith("_with_operation"):
        assert parameters[:4] == ["self", "db_name", "coll_name", "operation"]


async def test_concurrent_sorted_reads_and_writes_of_one_collection_all_succeed(tmp_path: Path) -> None:
    """Reads planning a sorted find and writes invalidating the engine's per-collection caches at
    once: on mongoeco's shared thread pool a write failed with "dictionary changed size during
    iteration" within a second or two of this load; one engine thread never does."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so the race shows within seconds
    try:
        async with EmbeddedStore(tmp_path / "store.sqlite") as store:
            client = mongo_client(store.url)
            db = client["storerace"]
            for c in range(60):
                await db[f"cold{c}"].insert_one({"_id": "x", "a": 1})
            await asyncio.gather(
                *(
                    db[f"cold{c}"].find({f"f{f}": {"$lte": 1}}).sort(f"g{f}", -1).limit(1).to_list()
                    for c in range(60)
                    for f in range(10)
                )
            )
            hot = db["hot"]
            failures: list[str] = []
            stop = time.monotonic() + 2.5

            async def work(worker: int) -> None:
                n = 0
                while time.monotonic() < stop and not failures:
                    n += 1
                    try:
                        if worker % 2:
                            await hot.update_one({"_id": f"{worker}-{n % 20}"}, {"$set": {"n": n}}, upsert=True)
                        else:
                            await hot.find({f"f{n % 10}": {"$lte": n}}).sort(f"g{n % 10}", -1).limit(5).to_list()
                    except OperationFailure as error:
                        failures.append(str(error))

            await asyncio.gather(*(work(worker) for worker in range(16)))
            await client.close()
    finally:
        sys.setswitchinterval(previous)
    assert failures == []


async def test_orca_lists_the_newest_executions_from_an_index_not_a_sort_of_the_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gate's executions and tasks lists (an application's newest of one type, a pipeline config's
    newest) are read from Orca's indexes in order: mongoeco's planner, which sorted every stored
    execution for them, is not asked; what is listed is still the newest first, ``limit`` of them."""
    compiled: list[str] = []
    compile_plan = StringIdSQLiteEngine._compile_read_execution_plan

    def counting(self: StringIdSQLiteEngine, db_name: str, coll_name: str, *args: Any, **kwargs: Any) -> Any:
        compiled.append(coll_name)
        return compile_plan(self, db_name, coll_name, *args, **kwargs)

    monkeypatch.setattr(StringIdSQLiteEngine, "_compile_read_execution_plan", counting)
    async with EmbeddedStore(tmp_path / "store.sqlite") as embedded:
        client = mongo_client(embedded.url)
        store = ExecutionStore(client["gennaker"])
        await store.prepare()
        built: dict[str, tuple[int, str, str, str]] = {}
        for n in range(60):
            application, config = ("billing", f"deploy-{n % 2}") if n % 3 else ("search", "index")
            pipeline = {"id": config, "application": application, "name": "p", "stages": []}
            command = StartExecution(authority=ADMIN, execution_id=f"01EXEC{n:020d}", pipeline=pipeline)
            execution = new_execution(command, 1_764_000_000_000 + (n * 7919) % 60 * 1000)  # not in id order
            execution.type = "ORCHESTRATION" if n % 5 == 0 else "PIPELINE"
            execution.status = ExecutionStatus.RUNNING if n % 4 == 0 else ExecutionStatus.SUCCEEDED
            assert await store.insert(execution)
            built[execution.id] = (execution.build_time, application, config, execution.type)

        def newest(keep: Any, limit: int) -> list[str]:
            kept = sorted((time, id) for id, (time, *fields) in built.items() if keep(*fields))
            return [id for _, id in reversed(kept)][:limit]

        async def listed(limit: int, **filters: Any) -> list[str]:
            filters = {"application": None, "pipeline_config_ids": (), "statuses": (), **filters}
            return [execution.id for execution in await store.search(limit=limit, **filters)]

        compiled.clear()
        assert await listed(7, application="billing", types=["PIPELINE"]) == newest(
            lambda app, config, type: app == "billing" and type == "PIPELINE", 7
        )
        assert await listed(3, application="search", types=["ORCHESTRATION"]) == newest(
            lambda app, config, type: app == "search" and type == "ORCHESTRATION", 3
        )
        assert await listed(5, pipeline_config_ids=["deploy-1"], types=["PIPELINE"]) == newest(
            lambda app, config, type: config == "deploy-1" and type == "PIPELINE", 5
        )
        assert await listed(100, pipeline_config_ids=["index"]) == newest(
            lambda app, config, type: config == "index", 100
        )
        assert compiled == []

        running = await store.search(
            application="billing", pipeline_config_ids=(), statuses=["running"], limit=50, types=["PIPELINE"]
        )
        assert running and {execution.status for execution in running} == {ExecutionStatus.RUNNING}
        assert [execution.build_time for execution in running] == sorted(
            (execution.build_time for execution in running), reverse=True
        )
        both = await listed(4, pipeline_config_ids=["deploy-0", "index"])
        assert both == newest(lambda app, config, type: config in ("deploy-0", "index"), 4)
        await client.close()
