"""An attacker's web page against a gateway on 127.0.0.1 with authentication off (``gennaker up``).

The page can make the user's browser send a form post (``text/plain``, no preflight), a request
carrying its own ``Origin``, or, after DNS rebinding, requests whose ``Host`` is the attacker's
name. Each is refused; the gateway's own page and an allowed CORS origin keep working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bus import MemoryBus
from gateway.app import create_app
from gateway.browser import BrowserPolicy
from gateway.config import GatewayConfig
from gennaker.settings import Settings

type Client = TestClient[web.Request, web.Application]

ALLOWED_UI = "https://ui.example.com"
HOOK = "/webhooks/webhook/ci"


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    bus = MemoryBus()
    config = GatewayConfig(version="9.9.9", services=(), cors_allowed_origins=(ALLOWED_UI,))
    async with TestClient(TestServer(create_app(bus, config))) as client:
        yield client
    await bus.close()


def own_origin(client: Client) -> str:
    return f"http://127.0.0.1:{client.port}"


def test_by_default_the_gateway_listens_on_loopback_and_allows_no_other_origin() -> None:
    settings = Settings()
    assert settings.gateway_host == "127.0.0.1"
    assert settings.gateway_cors_allowed_origins == []
    policy = BrowserPolicy.for_address(settings.gateway_host, None)
    assert policy.allowed_hosts == ("localhost", "127.0.0.1", "[::1]")
    assert policy.cors_allowed_origins == ()
    assert BrowserPolicy.for_address("10.1.2.3", None).host_allowed("10.1.2.3:8084")
    assert BrowserPolicy.for_address("::1", None).host_allowed("[::1]:8084")


async def test_a_cross_site_form_post_is_refused(client: Client) -> None:
    # what <form enctype="text/plain" method="post" action="http://127.0.0.1:8084/..."> sends
    form = {"Content-Type": "text/plain", "Origin": "https://evil.example"}
    response = await client.post("/applications/shop/tasks", data=b'{"job": [] , "x": "="}', headers=form)
    assert response.status == 403
    assert (await response.json())["field"] == "Origin"


async def test_a_write_that_is_not_json_is_a_415_even_without_an_origin(client: Client) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = await client.post(HOOK, data=b'{"a": 1}', headers={"Content-Type": content_type})
        assert response.status == 415, content_type
        body = await response.json()
        assert body["field"] == "Content-Type"
        assert "application/json" in body["error"]
    missing = await client.post(HOOK, data=b'{"a": 1}', skip_auto_headers=["Content-Type"])
    assert missing.status == 415


async def test_json_writes_and_bodyless_writes_pass(client: Client) -> None:
    assert (await client.post(HOOK, json={"a": 1})).status == 200
    with_charset = {"Content-Type": "application/json; charset=utf-8"}
    assert (await client.post(HOOK, data=b"{}", headers=with_charset)).status == 200
    # a bodyless write (cancel, pause) declares nothing; it gets past the browser checks to its handler
    assert (await client.put("/pipelines/nope/cancel")).status not in (403, 415, 421)


async def test_a_wrong_host_is_refused_so_dns_rebinding_gets_nothing(client: Client) -> None:
    for method, path in (("GET", "/applications"), ("GET", "/health"), ("POST", HOOK)):
        response = await client.request(method, path, json={}, headers={"Host": f"rebind.evil.example:{client.port}"})
        assert response.status == 421, path
        assert (await response.json())["field"] == "Host"
    for host in ("localhost", "127.0.0.1", f"LOCALHOST:{client.port}"):
        assert (await client.get("/version", headers={"Host": host})).status == 200


async def test_an_origin_not_allowed_cannot_write_and_gets_no_cors_headers(client: Client) -> None:
    evil = {"Origin": "https://evil.example"}
    refused = await client.post(HOOK, json={"a": 1}, headers=evil)
    assert refused.status == 403
    assert "https://evil.example" in (await refused.json())["error"]
    read = await client.get("/version", headers=evil)
    assert "Access-Control-Allow-Origin" not in read.headers  # the browser keeps the answer from the page
    sandboxed = await client.post(HOOK, json={"a": 1}, headers={"Origin": "null"})
    assert sandboxed.status == 403


async def test_the_gateways_own_page_may_write(client: Client) -> None:
    response = await client.post(HOOK, json={"a": 1}, headers={"Origin": own_origin(client)})
    assert response.status == 200


async def test_cors_preflight_and_requests_of_an_allowed_origin_work(client: Client) -> None:
    preflight = await client.options(
        "/pipelines",
        headers={
            "Origin": ALLOWED_UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization, x-evil",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED_UI
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed_headers = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "content-type" in allowed_headers and "authorization" in allowed_headers
    assert "x-evil" not in allowed_headers

    write = await client.post(HOOK, json={"a": 1}, headers={"Origin": ALLOWED_UI})
    assert write.status == 200
    assert write.headers["Access-Control-Allow-Origin"] == ALLOWED_UI
    assert "X-Correlation-Id" in write.headers["Access-Control-Expose-Headers"]
    error = await client.get("/applications/nope-nope/pipelineConfigs/x", headers={"Origin": ALLOWED_UI})
    assert error.headers["Access-Control-Allow-Origin"] == ALLOWED_UI  # its errors are readable too


async def test_a_preflight_from_an_origin_not_allowed_is_refused(client: Client) -> None:
    preflight = await client.options(
        "/pipelines", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers


async def test_the_checks_are_logged_at_start_up(capsys: pytest.CaptureFixture[str]) -> None:
    bus = MemoryBus()
    async with TestClient(TestServer(create_app(bus, GatewayConfig(version="9.9.9", services=())))):
        pass
    await bus.close()
    out = capsys.readouterr().out
    assert "browser checks" in out and "CORS origins allowed: none" in out and "127.0.0.1" in out
