"""Typed keys for what the gateway's handlers reach on the application: the bus, the config, the routes.

aiohttp's ``AppKey`` lets mypy check ``request.app[BUS]`` where a string key would be ``Any``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bus import Bus
from gateway.config import GatewayConfig

if TYPE_CHECKING:
    from gateway.routing import Route

BUS = web.AppKey("bus", Bus)
"""The bus every command, query and event goes over."""
CONFIG = web.AppKey("config", GatewayConfig)
"""The settings :func:`gateway.app.create_app` was given."""
ROUTES = web.AppKey("routes", tuple["Route", ...])
"""Every route the app serves, as registered, so the OpenAPI document describes exactly these."""
OPENAPI = web.AppKey("openapi", dict[str, Any])
"""The OpenAPI document, generated once when the app is built."""
