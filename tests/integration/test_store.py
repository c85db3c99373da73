"""The embedded store keeps what PyMongo wrote across a stop and a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymongo.errors import DuplicateKeyError

from gennaker.store import EmbeddedStore, StoreUnavailable, check_reachable, mongo_client


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
