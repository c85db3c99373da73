"""The embedded store's wire server: mongoeco's, logging the traceback of an unexpected error.

mongoeco turns any exception raised while serving a command into an error reply carrying only
its message (``dictionary changed size during iteration``), so a bug inside the engine reaches
the client with no way to find where it came from. Errors mongoeco raises on purpose (duplicate
keys, bad queries: its ``MongoEcoError`` family) are replies like MongoDB's and stay quiet; any
other exception is logged with its traceback before the same reply is sent.
"""

from __future__ import annotations

from typing import Any

import structlog
from mongoeco.errors import MongoEcoError
from mongoeco.wire import AsyncMongoEcoProxyServer

log = structlog.get_logger("gennaker.store")


class LoggingProxyServer(AsyncMongoEcoProxyServer):  # type: ignore[misc]
    """mongoeco's wire server, logging an internal error's traceback (the reply is unchanged)."""

    def _wire_failure(self, error: Exception, header: Any, state: Any) -> None:
        if not isinstance(error, MongoEcoError):
            log.error("embedded store internal error", error=f"{type(error).__name__}: {error}", exc_info=error)
        super()._wire_failure(error, header, state)
