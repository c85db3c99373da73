"""The MongoDB the integration suites talk to: mongoeco's wire server over its memory engine, one
per test, reached with PyMongo's async client over TCP exactly as the workers reach a MongoDB."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


async def start_store(*, tz_aware: bool = False) -> tuple[AsyncMongoEcoProxyServer, AsyncMongoClient[Document]]:
    """A fresh wire server on a free local port, and a client for it; the caller closes both."""
    server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
    address = await server.start()
    client: AsyncMongoClient[Document] = AsyncMongoClient(address.uri, tz_aware=tz_aware)
    return server, client


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[AsyncDatabase[Document]]:
    """The ``gennaker`` database of a fresh store, closed with its server afterwards."""
    server, client = await start_store()
    try:
        yield client["gennaker"]
    finally:
        await client.close()
        await server.close()
