"""The gateway's failures share one root, and both ways of answering honour its status, field and headers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bus import BusError, QueryTimeout
from bus.overflow import QueueFull
from gateway.auth.errors import AccessDenied, AuthUnavailable, Unauthenticated
from gateway.command_results import CommandRejected
from gateway.errors import CommandTimeout, GatewayError, NotFound, RequestInvalid, error_middleware
from gateway.gate_api import GateError, gate_route

FAILURES: list[Callable[[], GatewayError]] = [
    lambda: RequestInvalid("bad name", field="name"),
    lambda: NotFound("no such pipeline"),
    lambda: CommandTimeout("front50 did not answer", service="front50"),
    lambda: CommandRejected(409, "changed since you read it", "version"),
    lambda: GateError(422, "key reused"),
    lambda: Unauthenticated("no token", headers={"WWW-Authenticate": 'Bearer realm="gennaker"'}),
    lambda: AccessDenied("no WRITE"),
    lambda: AuthUnavailable("issuer away"),
]


def test_every_failure_the_gateway_answers_is_a_gateway_error_with_its_own_status() -> None:
    statuses = [make().status for make in FAILURES]
    assert statuses == [400, 404, 504, 409, 422, 401, 403, 503]


def test_a_command_timeout_is_not_a_query_timeout_and_a_full_queue_is_a_bus_error() -> None:
    assert not issubclass(CommandTimeout, QueryTimeout)
    assert issubclass(QueueFull, BusError) and issubclass(QueueFull, ConnectionError)


async def client_raising(error: GatewayError, *, gate: bool) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise error

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/", gate_route(handler) if gate else handler)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.mark.parametrize("gate", [False, True], ids=["gateway route", "Gate route"])
async def test_a_rejected_command_is_answered_with_its_status_and_field_on_any_route(gate: bool) -> None:
    async for client in client_raising(CommandRejected(409, "changed since you read it", "version"), gate=gate):
        response = await client.get("/")
        body = await response.json()
        assert (response.status, body["field"]) == (409, "version"), body


@pytest.mark.parametrize("gate", [False, True], ids=["gateway route", "Gate route"])
async def test_the_headers_of_a_failure_reach_the_client(gate: bool) -> None:
    error = GatewayError("slow down", headers={"Retry-After": "7"})
    async for client in client_raising(error, gate=gate):
        response = await client.get("/")
        assert (response.status, response.headers["Retry-After"]) == (500, "7")
