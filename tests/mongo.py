"""The MongoDB the integration suites talk to: mongoeco's wire server over its memory engine, one
per test, reached with PyMongo's async client over TCP exactly as the workers reach a MongoDB.

With ``GENNAKER_TEST_MONGO_URL`` set (DESIGN: code that relies on what real MongoDB does is tested
against it), :func:`fresh_database` is a database of its own on that server instead, dropped
afterwards, and the store contract suite (``tests/contract/test_store_contract.py``) runs there too.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from ulid import ULID

Document = dict[str, Any]

TEST_MONGO_URL = os.environ.get("GENNAKER_TEST_MONGO_URL") or None
"""A real MongoDB to test against as well, when the environment names one."""


async def start_store(*, tz_aware: bool = False) -> tuple[AsyncMongoEcoProxyServer, AsyncMongoClient[Document]]:
    """A fresh wire server on a free local port, and a client for it; the caller closes both."""
    server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
    address = await server.start()
    client: AsyncMongoClient[Document] = AsyncMongoClient(address.uri, tz_aware=tz_aware)
    return server, client


@contextlib.asynccontextmanager
async def real_database(url: str) -> AsyncIterator[AsyncDatabase[Document]]:
    """A database no other test uses on the MongoDB at ``url``, dropped afterwards."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(url)
    name = f"gennaker_test_{str(ULID()).lower()}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[AsyncDatabase[Document]]:
    """The ``gennaker`` database of a fresh store, closed with its server afterwards; a database
    of its own on the real MongoDB instead when ``GENNAKER_TEST_MONGO_URL`` is set."""
    if TEST_MONGO_URL is not None:
        async with real_database(TEST_MONGO_URL) as database:
            yield database
        return
    server, client = await start_store()
    try:
        yield client["gennaker"]
    finally:
        await client.close()
        await server.close()
