"""One contract for every store Gennaker runs on: what the workers rely on MongoDB to do.

Each test runs on mongoeco's memory engine (what the integration suites use), on the embedded
store ``gennaker up`` runs (mongoeco over SQLite with :mod:`gennaker.store_engine`'s overrides),
and on a real MongoDB when ``GENNAKER_TEST_MONGO_URL`` names one (DESIGN: code keeps to what real
MongoDB does and never branches on which server it talks to). The behaviours are the ones the
workers build on: unique indexes, optimistic concurrency through a version filter, upserts,
sort/limit, ``$group`` and string ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from gennaker.store import EmbeddedStore, mongo_client
from tests.mongo import TEST_MONGO_URL, Document, fresh_database, real_database, start_store

STORES = ["mongoeco-memory", "embedded-sqlite"] + (["mongodb"] if TEST_MONGO_URL else [])


@pytest.fixture(params=STORES)
async def collection(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncCollection[Document]]:
    """A fresh collection on each store."""
    if request.param == "mongodb":
        assert TEST_MONGO_URL is not None
        async with real_database(TEST_MONGO_URL) as database:
            yield database["contract"]
    elif request.param == "embedded-sqlite":
        async with EmbeddedStore(tmp_path / "store.sqlite") as store:
            client = mongo_client(store.url)
            try:
                yield client["gennaker"]["contract"]
            finally:
                await client.close()
    else:
        server, client = await start_store()
        try:
            yield client["gennaker"]["contract"]
        finally:
            await client.close()
            await server.close()


async def test_a_unique_index_refuses_a_second_document_with_the_same_key(
    collection: AsyncCollection[Document],
) -> None:
    await collection.create_index([("application", ASCENDING), ("name", ASCENDING)], unique=True)
    await collection.insert_one({"_id": "a", "application": "shop", "name": "deploy"})
    with pytest.raises(DuplicateKeyError):
        await collection.insert_one({"_id": "b", "application": "shop", "name": "deploy"})
    await collection.insert_one({"_id": "c", "application": "shop", "name": "rollback"})
    assert await collection.count_documents({}) == 2


async def test_an_id_given_twice_is_refused_and_a_string_id_reads_back_only_its_document(
    collection: AsyncCollection[Document],
) -> None:
    await collection.insert_many([{"_id": "01A", "n": 1}, {"_id": "01B", "n": 2}])
    with pytest.raises(DuplicateKeyError):
        await collection.insert_one({"_id": "01A", "n": 3})
    assert await collection.find_one({"_id": "01B"}) == {"_id": "01B", "n": 2}
    assert await collection.find_one({"_id": "01C"}) is None


async def test_a_write_filtered_on_the_version_it_read_wins_once(collection: AsyncCollection[Document]) -> None:
    await collection.insert_one({"_id": "execution", "version": 1, "status": "RUNNING"})

    async def commit(status: str) -> Document | None:
        return await collection.find_one_and_update(
            {"_id": "execution", "version": 1},
            {"$set": {"status": status}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )

    results = await asyncio.gather(commit("SUCCEEDED"), commit("CANCELED"))
    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    assert winners[0]["version"] == 2
    assert await collection.find_one({"_id": "execution"}) == winners[0]


async def test_an_upsert_creates_once_then_updates(collection: AsyncCollection[Document]) -> None:
    for attempt in range(3):
        await collection.update_one(
            {"_id": "timer"},
            {"$setOnInsert": {"created": attempt}, "$set": {"last": attempt}},
            upsert=True,
        )
    assert await collection.find_one({"_id": "timer"}) == {"_id": "timer", "created": 0, "last": 2}


async def test_sort_and_limit_answer_the_newest_first(collection: AsyncCollection[Document]) -> None:
    await collection.insert_many([{"_id": f"e{index}", "started": index} for index in (3, 1, 4, 0, 2)])
    newest = [document["_id"] async for document in collection.find({}).sort("started", DESCENDING).limit(3)]
    assert newest == ["e4", "e3", "e2"]


async def test_group_counts_by_key(collection: AsyncCollection[Document]) -> None:
    statuses = ["SUCCEEDED", "TERMINAL", "SUCCEEDED", "RUNNING", "SUCCEEDED"]
    await collection.insert_many([{"_id": str(index), "status": status} for index, status in enumerate(statuses)])
    cursor = await collection.aggregate([{"$group": {"_id": "$status", "count": {"$sum": 1}}}])
    counts = {row["_id"]: row["count"] async for row in cursor}
    assert counts == {"SUCCEEDED": 3, "TERMINAL": 1, "RUNNING": 1}


async def test_a_delete_of_what_is_gone_succeeds_and_changes_nothing(collection: AsyncCollection[Document]) -> None:
    await collection.insert_one({"_id": "kept"})
    assert (await collection.delete_one({"_id": "gone"})).deleted_count == 0
    assert (await collection.delete_one({"_id": "kept"})).deleted_count == 1
    assert await collection.count_documents({}) == 0


async def test_fresh_database_is_empty_and_its_own() -> None:
    async with fresh_database() as first, fresh_database() as second:
        await first["contract"].insert_one({"_id": "only-in-first"})
        assert await second["contract"].count_documents({}) == 0
