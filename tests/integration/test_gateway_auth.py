"""Authentication modes ``none`` and ``static``, trusted proxies, and Fiat checks in routes, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from bus import MemoryBus
from gateway.app import create_app
from gateway.auth import AuthConfig, Permission, StaticUser, hash_token, principal_of, readable, require
from gateway.config import GatewayConfig
from gateway.routes import ALL_ROUTES
from gateway.routing import Route

type Client = TestClient[web.Request, web.Application]

APPLICATIONS: dict[str, dict[str, list[str]] | None] = {
    "shop": {"READ": ["dev", "ops"], "WRITE": ["ops"]},
    "open": None,
    "vault": {"READ": ["ops"], "WRITE": ["ops"], "EXECUTE": ["ops"]},
}
"""Applications and their Front50 ``permissions``, as a later /applications route will fetch them."""


async def list_apps(request: web.Request) -> web.Response:
    names = readable(principal_of(request), APPLICATIONS, lambda name: APPLICATIONS[name])
    return web.json_response(names)


async def act_on_app(request: web.Request) -> web.Response:
    name, action = request.match_info["name"], Permission(request.match_info["action"])
    require(request, APPLICATIONS[name], action, resource=f"application {name}")
    return web.json_response({"done": f"{action} {name}"})


async def log_context(request: web.Request) -> web.Response:
    return web.json_response(structlog.contextvars.get_contextvars())


TEST_ROUTES = (
    Route("GET", "/apps", list_apps, summary="Apps", tag="test", responses={}),
    Route("POST", "/apps/{name}/{action}", act_on_app, summary="Act", tag="test", responses={}),
    Route("GET", "/log-context", log_context, summary="Log context", tag="test", responses={}),
)

ANN_TOKEN = "ann-token-0123456789"
ROOT_TOKEN = "root-token-0123456789"
STATIC = AuthConfig(
    mode="static",
    admin_roles=("admins",),
    users=(
        StaticUser(username="ann", token_sha256=hash_token(ANN_TOKEN), roles=("dev",), email="ann@example.com"),
        StaticUser(username="root", token_sha256=hash_token(ROOT_TOKEN), admin=True),
        StaticUser(username="bob", roles=("ops",)),
    ),
)


@asynccontextmanager
async def serve(auth: AuthConfig) -> AsyncIterator[Client]:
    """A gateway with every route plus the test routes, under ``auth``, on a memory bus."""
    bus = MemoryBus()
    app = create_app(bus, GatewayConfig(version="9.9.9", services=(), auth=auth), routes=ALL_ROUTES + TEST_ROUTES)
    try:
        async with TestClient(TestServer(app)) as client:
            yield client
    finally:
        await bus.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def assert_refused(response: Any, status: int, *, message: str = "") -> dict[str, Any]:
    """``response`` is Gate's error JSON with ``status``, and its message contains ``message``."""
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    reason = {401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable"}[status]
    assert body.keys() == {"error", "message", "status", "timestamp"}
    assert (body["error"], body["status"]) == (reason, status)
    assert isinstance(body["timestamp"], int) and body["timestamp"] > 1_600_000_000_000
    assert message in body["message"], body["message"]
    return body


@pytest.fixture
async def static() -> AsyncIterator[Client]:
    async with serve(STATIC) as client:
        yield client


# --- mode none ---------------------------------------------------------------------------------


async def test_mode_none_lets_everyone_in_as_an_anonymous_admin() -> None:
    async with serve(AuthConfig()) as client:
        user = await (await client.get("/auth/user")).json()
        assert user["username"] == "anonymous" and user["admin"] is True and user["roles"] == []
        assert await (await client.get("/apps")).json() == ["shop", "open", "vault"]
        assert (await client.post("/apps/vault/WRITE")).status == 200
        assert (await client.get("/dlq")).status == 200


async def test_mode_none_warns_at_startup_that_everyone_has_full_rights() -> None:
    with capture_logs() as logs:
        async with serve(AuthConfig()):
            pass
    [warning] = [entry for entry in logs if entry.get("auth_mode") == "none"]
    assert warning["log_level"] == "warning"
    assert "every caller is anonymous with full rights" in warning["event"]


async def test_a_real_mode_logs_itself_without_warning() -> None:
    with capture_logs() as logs:
        async with serve(STATIC):
            pass
    [line] = [entry for entry in logs if "auth_mode" in entry]
    assert (line["log_level"], line["auth_mode"], line["users"]) == ("info", "static", ["ann", "root"])


# --- mode static ---------------------------------------------------------------------------------


async def test_a_valid_token_identifies_its_user(static: Client) -> None:
    response = await static.get("/auth/user", headers=bearer(ANN_TOKEN))

    assert response.status == 200
    user = await response.json()
    assert (user["username"], user["email"], user["roles"], user["admin"]) == ("ann", "ann@example.com", ["dev"], False)
    assert user["authorities"] == [{"authority": "dev"}]


async def test_a_missing_token_on_a_protected_route_is_401_with_a_challenge(static: Client) -> None:
    for method, path in (("GET", "/auth/user"), ("GET", "/apps"), ("GET", "/dlq"), ("POST", "/events")):
        response = await static.request(method, path)
        await assert_refused(response, 401, message=f"authentication is required for {method} {path}")
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="gennaker"'


async def test_a_wrong_token_is_401_naming_the_problem(static: Client) -> None:
    response = await static.get("/apps", headers=bearer("ann-token-0123456788"))

    await assert_refused(response, 401, message="matches no configured user")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["Basic YW5uOnMzY3JldA==", "Bearer ", ANN_TOKEN])
async def test_other_authorization_schemes_are_refused(static: Client, header: str) -> None:
    response = await static.get("/apps", headers={"Authorization": header})

    await assert_refused(response, 401)
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


async def test_public_paths_need_no_credentials(static: Client) -> None:
    for path in ("/health", "/openapi.json", "/swagger-ui.html", "/swagger-ui/swagger-ui.css", "/metrics"):
        assert (await static.get(path)).status == 200, path


async def test_the_user_is_bound_into_the_log_context(static: Client) -> None:
    context = await (await static.get("/log-context", headers=bearer(ANN_TOKEN))).json()

    assert context["user"] == "ann"
    assert context["correlation_id"]


async def test_lists_leave_out_what_the_user_may_not_read(static: Client) -> None:
    assert await (await static.get("/apps", headers=bearer(ANN_TOKEN))).json() == ["shop", "open"]
    assert await (await static.get("/apps", headers=bearer(ROOT_TOKEN))).json() == ["shop", "open", "vault"]


@pytest.mark.parametrize(
    ("app", "action", "status"),
    [
        ("shop", "READ", 200),
        ("shop", "EXECUTE", 200),
        ("shop", "WRITE", 403),
        ("open", "WRITE", 200),
        ("vault", "READ", 403),
        ("vault", "EXECUTE", 403),
    ],
)
async def test_require_refuses_with_gates_403(static: Client, app: str, action: str, status: int) -> None:
    response = await static.post(f"/apps/{app}/{action}", headers=bearer(ANN_TOKEN))

    if status == 200:
        assert response.status == 200, await response.text()
    else:
        message = f"Access denied to application {app} - required authorization: {action}"
        await assert_refused(response, 403, message=message)


async def test_admins_pass_every_check(static: Client) -> None:
    assert (await static.post("/apps/vault/WRITE", headers=bearer(ROOT_TOKEN))).status == 200


async def test_the_configured_hash_is_all_the_gateway_holds() -> None:
    dumped = STATIC.model_dump_json()
    assert ANN_TOKEN not in dumped and hash_token(ANN_TOKEN) in dumped


# --- trusted proxies -----------------------------------------------------------------------------


def with_proxies(*proxies: str, base: AuthConfig = STATIC) -> AuthConfig:
    return AuthConfig.model_validate({**base.model_dump(), "trusted_proxies": proxies})


async def test_x_spinnaker_user_is_honoured_from_a_trusted_proxy() -> None:
    async with serve(with_proxies("127.0.0.0/8")) as client:
        response = await client.get("/auth/user", headers={"X-SPINNAKER-USER": "bob", "X-SPINNAKER-ROLES": "qa, Dev"})
        user = await response.json()
        assert (user["username"], user["roles"], user["admin"]) == ("bob", ["dev", "ops", "qa"], False)
        assert await (await client.get("/apps", headers={"X-SPINNAKER-USER": "bob"})).json() == [
            "shop",
            "open",
            "vault",
        ]
        admin = await client.get("/auth/user", headers={"X-SPINNAKER-USER": "x", "X-SPINNAKER-ROLES": "admins"})
        assert (await admin.json())["admin"] is True


async def test_x_spinnaker_user_is_ignored_from_anywhere_else() -> None:
    async with serve(with_proxies("10.0.0.0/8")) as client:
        forged = {"X-SPINNAKER-USER": "root", "X-SPINNAKER-ROLES": "admins"}
        await assert_refused(await client.get("/auth/user", headers=forged), 401)
        user = await (await client.get("/auth/user", headers={**forged, **bearer(ANN_TOKEN)})).json()
        assert (user["username"], user["admin"]) == ("ann", False)


async def test_x_spinnaker_user_is_ignored_when_no_proxy_is_trusted(static: Client) -> None:
    await assert_refused(await static.get("/apps", headers={"X-SPINNAKER-USER": "root"}), 401)


async def test_mode_none_takes_the_user_name_from_a_trusted_proxy() -> None:
    async with serve(with_proxies("127.0.0.1", base=AuthConfig())) as client:
        named = await (await client.get("/auth/user", headers={"X-SPINNAKER-USER": "carol"})).json()
        anonymous = await (await client.get("/auth/user")).json()
    assert (named["username"], named["admin"]) == ("carol", True)
    assert (anonymous["username"], anonymous["admin"]) == ("anonymous", True)
