"""Builds the gateway's aiohttp application around a bus: the one entry point the runner calls.

Example::

    bus = MemoryBus()
    app = create_app(bus, GatewayConfig(version="0.1.0"))
    web.run_app(app, host=config.host, port=config.port)

The app does not own the bus: whoever created the bus closes it, after the app has shut down.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from bus import Bus
from gateway import command_results, known_applications
from gateway.auth.middleware import auth_middleware, install_auth
from gateway.browser import BrowserPolicy, browser_middleware, install_browser_policy
from gateway.config import GatewayConfig
from gateway.correlation import correlation_middleware, echo_correlation_id
from gateway.errors import error_middleware
from gateway.events_stream import OPEN_TAPS, close_event_streams
from gateway.keys import BUS, CONFIG, OPENAPI, ROUTES
from gateway.metrics import metrics_middleware
from gateway.openapi import openapi_document
from gateway.routes import ALL_ROUTES
from gateway.routing import BODY_LIMIT, Route
from gateway.tracing import tracing_middleware

TITLE = "Gennaker gateway"


def create_app(bus: Bus, config: GatewayConfig, *, routes: Iterable[Route] = ALL_ROUTES) -> web.Application:
    """An application serving ``routes`` (default: all of them) over ``bus``.

    Middlewares run outermost first: the correlation id is bound before anything logs, the request's
    span (:mod:`gateway.tracing`) is current before any message is sent, metrics see
    the final status, and errors become JSON before either sees them. The browser checks
    (:mod:`gateway.browser`) come before authentication, so a page of another site is refused
    whoever it claims to be. Authentication runs innermost, so every handler has its caller and
    refusals keep Gate's 401/403 shape.
    """
    app = web.Application(
        middlewares=[
            correlation_middleware,
            tracing_middleware,
            metrics_middleware,
            error_middleware,
            browser_middleware,
            auth_middleware,
        ],
        client_max_size=config.max_body_bytes,
    )
    app[BODY_LIMIT] = config.max_body_bytes
    install_browser_policy(
        app, BrowserPolicy.for_address(config.host, config.allowed_hosts, config.cors_allowed_origins)
    )
    install_auth(app, config.auth)
    table = tuple(routes)
    for route in table:
        app.router.add_route(route.method, route.path, route.handler, name=route.operation)
    app[BUS] = bus
    app[CONFIG] = config
    app[ROUTES] = table
    app[OPENAPI] = openapi_document(table, title=TITLE, version=config.version, is_public=config.auth.is_public)
    app[OPEN_TAPS] = set()
    command_results.install(app)
    known_applications.install(app)
    app.on_response_prepare.append(echo_correlation_id)
    app.on_shutdown.append(close_event_streams)
    return app
