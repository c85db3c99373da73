"""The gateway serves the UI at ``/``: page, hashed assets gzipped, settings, all before sign-in."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bus import MemoryBus
from gateway.app import create_app
from gateway.auth.tokens import hash_token
from gateway.config import GatewayConfig
from schemas.auth_settings import AuthConfig, OidcConfig, StaticUser
from tests.deck.tools import DECK

type Client = TestClient[web.Request, web.Application]

STATIC = AuthConfig(mode="static", users=(StaticUser(username="ann", token_sha256=hash_token("t-ann")),))


async def _client(auth: AuthConfig) -> AsyncIterator[Client]:
    bus = MemoryBus()
    client: Client = TestClient(TestServer(create_app(bus, GatewayConfig(version="1.2.3", auth=auth))))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await bus.close()


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async for client in _client(STATIC):
        yield client


async def test_the_page_is_public_and_locked_down(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert (await response.text()) == (DECK / "dist" / "index.html").read_text()
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["Cache-Control"] == "no-cache"
    assert (await client.get("/applications")).status == 401


async def test_assets_are_gzipped_and_cached_for_good(client: Client) -> None:
    page = (DECK / "dist" / "index.html").read_text()
    script = re.search(r'src="(/deck/assets/[^"]+\.js)"', page)
    assert script is not None
    response = await client.get(script.group(1), headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    body = gzip.decompress(await response.read())
    assert body == (DECK / "dist" / script.group(1).removeprefix("/deck/")).read_bytes()
    plain = await client.get(script.group(1), headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and await plain.read() == body


async def test_an_unknown_asset_is_a_404_that_says_reload(client: Client) -> None:
    response = await client.get("/deck/assets/index-old.js")
    assert response.status == 404
    assert "reload the page" in (await response.json())["error"]


async def test_settings_say_how_to_sign_in(client: Client) -> None:
    response = await client.get("/deck/settings.json")
    assert response.status == 200
    assert await response.json() == {"authMode": "static", "executeFallback": "READ", "version": "1.2.3"}


async def test_settings_offer_the_oidc_client_when_one_is_configured() -> None:
    oidc = OidcConfig(issuer="https://login.example.com/realms/ops", audience=("deck",), client_id="deck")
    async for client in _client(AuthConfig(mode="oidc", oidc=oidc)):
        settings = await (await client.get("/deck/settings.json")).json()
        assert settings["oidc"] == {
            "issuer": "https://login.example.com/realms/ops",
            "clientId": "deck",
            "scopes": "openid profile email",
        }
        policy = (await client.get("/")).headers["Content-Security-Policy"]
        assert "connect-src 'self' https://login.example.com" in policy


async def test_the_ui_routes_stay_out_of_the_api_document(client: Client) -> None:
    paths = (await (await client.get("/openapi.json")).json())["paths"]
    assert "/" not in paths and not any(path.startswith("/deck/") for path in paths)
