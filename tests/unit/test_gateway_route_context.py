"""A route resolves its bus, timeouts and caller once (``gateway.route_context``), and the access
helpers take the context or the request alike."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bus import MemoryBus
from gateway.access import require_on, visible
from gateway.auth.errors import AccessDenied
from gateway.auth.middleware import PRINCIPAL
from gateway.auth.model import Permission, Principal
from gateway.config import GatewayConfig
from gateway.keys import BUS, CONFIG
from gateway.route_context import RouteContext

OPS_ONLY = {"permissions": {"READ": ["ops"], "WRITE": ["ops"], "EXECUTE": ["ops"]}}


def request_of(principal: Principal, config: GatewayConfig) -> web.Request:
    app = web.Application()
    app[BUS] = MemoryBus()
    app[CONFIG] = config
    request = make_mocked_request("GET", "/applications", app=app)
    request[PRINCIPAL] = principal
    return request


def test_the_context_is_built_once_per_request_with_the_callers_authority_and_the_configured_timeouts() -> None:
    dev = Principal(username="dev", roles=frozenset({"dev"}))
    request = request_of(dev, GatewayConfig(version="1", command_timeout=3.0, query_timeout=1.5))
    route = RouteContext.of(request)
    assert RouteContext.of(request) is route and RouteContext.of(route) is route
    assert (route.command_timeout, route.query_timeout) == (3.0, 1.5)
    assert route.bus is request.app[BUS]
    assert route.authority == dev.authority()


def test_access_helpers_judge_the_same_by_the_context_or_the_request() -> None:
    dev = Principal(username="dev", roles=frozenset({"dev"}))
    ops = Principal(username="ana", roles=frozenset({"ops"}))
    for principal, allowed in ((dev, False), (ops, True)):
        request = request_of(principal, GatewayConfig(version="1"))
        for caller in (request, RouteContext.of(request)):
            assert bool(visible(caller, [OPS_ONLY])) is allowed
            try:
                require_on(caller, OPS_ONLY, Permission.EXECUTE, kind="application", name="secret")
            except AccessDenied as refused:
                assert not allowed and "application secret" in str(refused)
            else:
                assert allowed
