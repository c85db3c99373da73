"""Gives every request a correlation id, so its log lines (and the messages it causes) can be found together.

The id comes from the ``X-Correlation-Id`` header when the client sent one, else it is new; it is
bound into structlog's context for the request and echoed in the response's header.
"""

from __future__ import annotations

import logging
import time

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from bus import new_id

HEADER = "X-Correlation-Id"
CORRELATION_ID = web.RequestKey("correlation_id", str)
"""Where the request's correlation id is kept on ``request``."""

log = structlog.get_logger("gennaker.gateway")


def correlation_id(request: web.Request) -> str:
    """The correlation id :func:`correlation_middleware` chose for ``request``."""
    return request.get(CORRELATION_ID) or new_id()


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind the correlation id around the handler and log one line per request (at debug level)."""
    given = request.headers.get(HEADER, "").strip()
    chosen = request[CORRELATION_ID] = given[:128] if given else new_id()
    started = time.perf_counter()
    # bind and reset by hand: bound_contextvars() copies the whole context twice per request
    tokens = structlog.contextvars.bind_contextvars(correlation_id=chosen, method=request.method, path=request.path)
    try:
        response = await handler(request)
        if _debugging():  # one line per request, shown at log_level DEBUG (failures are logged where they happen)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            log.debug("request handled", status=response.status, duration_ms=duration_ms)
        return response
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def _debugging() -> bool:
    """Whether structlog is configured to write debug lines: a call on a lazy logger builds a bound logger
    first, even for a line its level drops. Filtering loggers' ``is_enabled_for`` ignores its ``self``."""
    wrapper = structlog.get_config()["wrapper_class"]
    is_enabled_for = getattr(wrapper, "is_enabled_for", None)
    return is_enabled_for is None or bool(is_enabled_for(wrapper, logging.DEBUG))


async def echo_correlation_id(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: tell the client the id, also on streamed responses."""
    response.headers[HEADER] = correlation_id(request)
