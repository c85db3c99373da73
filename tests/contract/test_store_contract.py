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
from collections.abc import AsyncIterator, Callable
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


BUILT = 1_764_000_000_000
"""An epoch-millisecond time, as Orca stamps ``buildTime`` (a 64-bit integer in BSON)."""


async def newest_ids(
    collection: AsyncCollection[Document], query: Document, *, limit: int = 4, skip: int = 0, direction: int = -1
) -> list[str]:
    cursor = collection.find(query, {"_id": 1}).sort("built", direction).skip(skip).limit(limit)
    return [str(document["_id"]) async for document in cursor]


async def test_a_sorted_find_on_an_index_prefix_answers_newest_first_with_skip_limit_and_other_filters(
    collection: AsyncCollection[Document],
) -> None:
    """Orca lists an application's newest executions of one type through an index of (application,
    type, buildTime): the answer is that of the filter and sort, whatever else the filter asks."""
    await collection.create_index([("app", ASCENDING), ("kind", ASCENDING), ("built", DESCENDING)])
    documents: list[Document] = [
        {
            "_id": f"e{n:02d}",
            "app": "billing" if n % 3 else "search",
            "kind": "PIPELINE" if n % 4 else "ORCHESTRATION",
            "status": "RUNNING" if n % 5 == 0 else "SUCCEEDED",
            "built": BUILT + n * 1000,
        }
        for n in range(40)
    ]
    await collection.insert_many(documents)

    def expected(keep: Callable[[Document], bool], limit: int, skip: int = 0, reverse: bool = True) -> list[str]:
        kept = sorted((document for document in documents if keep(document)), key=lambda document: document["built"])
        if reverse:
            kept.reverse()
        return [str(document["_id"]) for document in kept[skip : skip + limit]]

    billing = {"app": "billing", "kind": "PIPELINE"}

    def in_billing(document: Document) -> bool:
        return bool(document["app"] == "billing" and document["kind"] == "PIPELINE")

    assert await newest_ids(collection, billing) == expected(in_billing, 4) == ["e38", "e37", "e35", "e34"]
    assert await newest_ids(collection, billing, skip=3, limit=3) == expected(in_billing, 3, skip=3)
    assert await newest_ids(collection, billing, direction=1) == expected(in_billing, 4, reverse=False)
    assert await newest_ids(collection, billing, limit=100) == expected(in_billing, 100)
    running = {**billing, "status": {"$in": ["RUNNING", "PAUSED"]}}
    assert await newest_ids(collection, running) == expected(
        lambda document: in_billing(document) and document["status"] == "RUNNING", 4
    )
    tasks = {"app": "search", "kind": "ORCHESTRATION"}
    assert await newest_ids(collection, tasks) == ["e36", "e24", "e12", "e00"]
    assert await newest_ids(collection, {"app": "nobody", "kind": "PIPELINE"}) == []
    assert await newest_ids(collection, {"app": "billing"}, limit=3) == ["e38", "e37", "e35"]


async def test_a_sorted_find_on_an_index_prefix_finds_arrays_holding_the_value(
    collection: AsyncCollection[Document],
) -> None:
    """An equality matches an array holding the value, which an index of plain values does not list."""
    await collection.create_index([("app", ASCENDING), ("built", DESCENDING)])
    await collection.insert_many([{"_id": f"e{n}", "app": "billing", "built": BUILT + n} for n in range(5)])
    await collection.insert_one({"_id": "shared", "app": ["search", "billing"], "built": BUILT + 10})
    assert await newest_ids(collection, {"app": "billing"}, limit=2) == ["shared", "e4"]


async def test_a_sorted_find_on_an_index_prefix_matches_the_other_fields_inside_arrays_too(
    collection: AsyncCollection[Document],
) -> None:
    """Gate's search of an application's executions by ``trigger.eventId``, or by status: a path
    crossing an array matches through its elements, an array field through any element."""
    await collection.create_index([("app", ASCENDING), ("built", DESCENDING)])
    listed = {"trigger": [{"eventId": "x"}, {"eventId": "e1"}], "status": ["PAUSED", "RUNNING"]}
    await collection.insert_many(
        [
            {"_id": "plain", "app": "billing", "built": BUILT + 1, "trigger": {"eventId": "e1"}, "status": "RUNNING"},
            {"_id": "listed", "app": "billing", "built": BUILT + 2, **listed},
            {"_id": "other", "app": "billing", "built": BUILT + 3, "trigger": {"eventId": "e2"}, "status": "SUCCEEDED"},
            {"_id": "number", "app": "billing", "built": BUILT + 4, "trigger": {"eventId": 1}, "status": 1},
            {
                "_id": "elsewhere",
                "app": "search",
                "built": BUILT + 5,
                "trigger": {"eventId": "e1"},
                "status": "RUNNING",
            },
        ]
    )
    assert await newest_ids(collection, {"app": "billing", "trigger.eventId": "e1"}) == ["listed", "plain"]
    assert await newest_ids(collection, {"app": "billing", "status": {"$in": ["RUNNING", "X"]}}) == ["listed", "plain"]
    assert await newest_ids(collection, {"app": "billing", "status": "SUCCEEDED"}) == ["other"]
    assert await newest_ids(collection, {"app": "billing", "trigger.eventId": {"$in": ["e2", "e9"]}}) == ["other"]


async def test_a_sorted_find_on_an_index_prefix_orders_mixed_values_as_mongodb_does(
    collection: AsyncCollection[Document],
) -> None:
    """Numbers of every width compare by value; then BSON's order of types: null and missing first,
    numbers, strings, and booleans last."""
    await collection.create_index([("app", ASCENDING), ("built", DESCENDING)])
    await collection.insert_many(
        [
            {"_id": "int64", "app": "billing", "built": BUILT},
            {"_id": "int32", "app": "billing", "built": 7},
            {"_id": "double", "app": "billing", "built": 7.5},
            {"_id": "negative", "app": "billing", "built": -BUILT},
        ]
    )
    numbers = ["int64", "double", "int32", "negative"]
    assert await newest_ids(collection, {"app": "billing"}) == numbers
    assert await newest_ids(collection, {"app": "billing"}, direction=1) == numbers[::-1]

    await collection.delete_many({"_id": {"$in": ["int64", "negative"]}})
    others: list[tuple[Document, list[str], list[str]]] = [
        ({"built": "soon"}, ["other", "double", "int32"], ["int32", "double", "other"]),
        ({"built": None}, ["double", "int32", "other"], ["other", "int32", "double"]),
        ({}, ["double", "int32", "other"], ["other", "int32", "double"]),
        ({"built": False}, ["other", "double", "int32"], ["int32", "double", "other"]),
        ({"built": True}, ["other", "double", "int32"], ["int32", "double", "other"]),
    ]
    for other, newest, oldest in others:
        await collection.insert_one({"_id": "other", "app": "billing", **other})
        assert await newest_ids(collection, {"app": "billing"}) == newest, other
        assert await newest_ids(collection, {"app": "billing"}, direction=1) == oldest, other
        await collection.delete_one({"_id": "other"})


async def test_a_sorted_find_on_an_index_prefix_orders_strings_bytewise_without_a_limit(
    collection: AsyncCollection[Document],
) -> None:
    """Front50 lists an application's pipeline configs by name through an index of (application,
    name), without a limit: strings compare bytewise (upper case before lower, accents after);
    objects and booleans sort after every string, an array by its elements."""
    await collection.create_index([("app", ASCENDING), ("name", ASCENDING)], unique=True)
    names = ["deploy", "Deploy", "bake", "étape", "draft]", "zeta", "10", "9"]
    await collection.insert_many([{"_id": f"p{n}", "app": "billing", "name": name} for n, name in enumerate(names)])
    await collection.insert_one({"_id": "other", "app": "search", "name": "aaa"})

    async def by_name(direction: int = 1) -> list[str]:
        cursor = collection.find({"app": "billing"}, {"_id": 0, "name": 1}).sort("name", direction)
        return [str(document["name"]) async for document in cursor]

    assert await by_name() == sorted(names, key=lambda name: name.encode())
    assert await by_name(-1) == sorted(names, key=lambda name: name.encode(), reverse=True)
    # p3 is étape, p5 zeta; a descending sort takes an array by its greatest element
    for other, first in (({"tags": "x"}, ["odd", "p3"]), (True, ["odd", "p3"]), (["a", "zz"], ["p3", "odd"])):
        await collection.insert_one({"_id": "odd", "app": "billing", "name": other})
        cursor = collection.find({"app": "billing"}).sort("name", -1).limit(2)
        assert [document["_id"] async for document in cursor] == first, other
        await collection.delete_one({"_id": "odd"})


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
