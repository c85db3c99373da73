"""The embedded MongoDB-compatible store, and the one way Gennaker opens a MongoDB client.

``gennaker up`` and ``gennaker store serve`` run mongoeco's wire-protocol server over a SQLite
file, so Gennaker needs no MongoDB installed. Workers never know: they get a URL and talk to it
with PyMongo's async client exactly as they would to a real MongoDB (Motor is deprecated and not
used). Change streams are not available through the embedded store; use bus events instead.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import structlog
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from gennaker.settings import redact_url

log = structlog.get_logger("gennaker.store")

Document = dict[str, Any]


class StoreUnavailable(RuntimeError):
    """MongoDB (or the embedded store) cannot be reached; the message names the URL and the fix."""


class EmbeddedStore:
    """A MongoDB wire-protocol server on a local port, persisting to one SQLite file.

    ``start`` returns the URL to hand to :func:`mongo_client`; ``close`` stops accepting
    connections and flushes the file. Data written before ``close`` is there after the next
    ``start`` on the same path. Only one process should serve a given file at a time.
    """

    def __init__(self, path: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.path = path
        self.host = host
        self.port = port
        self._server: Any = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """``mongodb://host:port/?directConnection=true``; only while running."""
        if self._url is None:
            raise RuntimeError("the embedded store is not running; call start() first")
        return self._url

    async def start(self) -> str:
        """Open the SQLite file (creating its directory) and listen; returns the URL."""
        if self._url is not None:
            return self._url
        from gennaker.store_engine import string_id_engine
        from gennaker.store_server import LoggingProxyServer

        writable = "choose a writable place (GENNAKER_DATA_DIR, or --path for `gennaker store serve`)"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnavailable(
                f"cannot create the embedded store's directory {self.path.parent}: {error.strerror}; {writable}"
            ) from None
        try:
            server = LoggingProxyServer(engine=string_id_engine(self.path), host=self.host, port=self.port)
            address = await server.start()
        except sqlite3.Error as error:
            raise StoreUnavailable(f"cannot open the embedded store's file {self.path}: {error}; {writable}") from None
        except OSError as error:
            raise StoreUnavailable(
                f"cannot start the embedded store on {self.host}:{self.port} for {self.path}: {error}; "
                "choose another port or stop the process using it"
            ) from None
        self._server = server
        self._url = str(address.uri)
        log.info("embedded store listening", url=self._url, path=str(self.path))
        return self._url

    async def close(self) -> None:
        """Stop serving and release the file. Idempotent."""
        server, self._server, self._url = self._server, None, None
        if server is not None:
            await server.close()
            log.info("embedded store stopped", path=str(self.path))

    async def __aenter__(self) -> EmbeddedStore:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def mongo_client(url: str, *, timeout: float = 10.0) -> AsyncMongoClient[Document]:
    """A PyMongo async client for ``url`` (real MongoDB or the embedded store alike).

    Datetimes come back timezone-aware (UTC). ``timeout`` bounds how long an operation waits for
    a reachable server. The caller closes it with ``await client.close()``.
    """
    timeout_ms = int(timeout * 1000)
    return AsyncMongoClient(
        url,
        tz_aware=True,
        appname="gennaker",
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
    )


async def check_reachable(client: AsyncMongoClient[Document], url: str, *, timeout: float = 10.0) -> None:
    """Ping the server so a wrong URL fails at start-up with a clear message, not at first use."""
    try:
        await asyncio.wait_for(client.admin.command("ping"), timeout)
    except (PyMongoError, TimeoutError, OSError) as error:
        raise StoreUnavailable(
            f"cannot reach MongoDB at {redact_url(url)}: {error}; check GENNAKER_MONGO_URL "
            "(or unset it to use the embedded store)"
        ) from None
