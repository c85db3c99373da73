"""Signing in to the UI through an OpenID Connect provider, in a real browser.

The provider is a local one (nothing here is an identity provider): discovery, a JWKS, an
authorization endpoint that signs in ``ann`` at once and redirects back with a code, and a token
endpoint that checks the PKCE verifier against the challenge before it mints an ID token. The
gateway runs in auth mode ``oidc`` with the UI's ``client_id``; the browser goes through the whole
redirect and ends signed in as ``ann``, with the token the gateway verified.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bus import MemoryBus
from gateway.app import create_app
from gateway.config import GatewayConfig
from schemas.auth_settings import AuthConfig, OidcConfig
from tests.deck.tools import DECK, chromium, node, packages

CLIENT_ID = "gennaker-deck"
CORS = {"Access-Control-Allow-Origin": "*"}


@dataclass
class Provider:
    """A provider that signs in ``ann`` without asking, and remembers each code's PKCE challenge."""

    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    url: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        async def discovery(request: web.Request) -> web.Response:
            document = {
                "issuer": self.url,
                "jwks_uri": f"{self.url}/keys",
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
            }
            return web.json_response(document, headers=CORS)

        async def keys(request: web.Request) -> web.Response:
            jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True) | {"alg": "RS256", "kid": "k1", "use": "sig"}
            return web.json_response({"keys": [jwk]})

        async def authorize(request: web.Request) -> web.Response:
            query = request.query
            if query.get("client_id") != CLIENT_ID or query.get("code_challenge_method") != "S256":
                self.refused.append(f"authorize: {dict(query)}")
                raise web.HTTPBadRequest(text="unknown client or no PKCE")
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"challenge": query["code_challenge"], "redirect": query["redirect_uri"]}
            raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")

        async def token(request: web.Request) -> web.Response:
            form = await request.post()
            issued = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier", ""))
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if issued is None or digest != issued["challenge"] or form.get("redirect_uri") != issued["redirect"]:
                self.refused.append(f"token: {dict(form)}")
                return web.json_response({"error": "invalid_grant"}, status=400, headers=CORS)
            now = int(time.time())
            claims = {"iss": self.url, "aud": CLIENT_ID, "sub": "u-1", "preferred_username": "ann", "groups": ["dev"]}
            id_token = jwt.encode({**claims, "iat": now, "exp": now + 300}, self.key, "RS256", headers={"kid": "k1"})
            return web.json_response({"id_token": id_token, "token_type": "Bearer"}, headers=CORS)

        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", discovery)
        app.router.add_get("/keys", keys)
        app.router.add_get("/authorize", authorize)
        app.router.add_post("/token", token)
        return app


@pytest.fixture
async def gateway_url() -> AsyncIterator[tuple[str, Provider]]:
    provider = Provider()
    issuer = TestServer(provider.app())
    await issuer.start_server()
    provider.url = str(issuer.make_url("")).rstrip("/")
    oidc = OidcConfig(issuer=provider.url, audience=(CLIENT_ID,), client_id=CLIENT_ID)
    bus = MemoryBus()
    gateway = TestServer(create_app(bus, GatewayConfig(version="1.0.0", auth=AuthConfig(mode="oidc", oidc=oidc))))
    await gateway.start_server()
    try:
        yield str(gateway.make_url("/")), provider
    finally:
        await gateway.close()
        await issuer.close()
        await bus.close()


@pytest.mark.timeout(120)
async def test_signing_in_goes_through_the_provider_and_back(gateway_url: tuple[str, Provider], tmp_path: Any) -> None:
    url, provider = gateway_url
    executable, _ = node(), packages()
    report = tmp_path / "report.json"
    config = {"url": url, "suite": "oidc", "tokens": {}, "artifacts": str(tmp_path), "report": str(report)}
    process = await asyncio.create_subprocess_exec(
        executable,
        str(DECK / "e2e" / "run.mjs"),
        env={**os.environ, "CHROMIUM": chromium(), "DECK_E2E": json.dumps(config)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 90)
    assert report.exists(), output.decode(errors="replace")
    outcome = json.loads(report.read_text())["sign_in_with_the_identity_provider"]
    assert outcome["ok"], f"{outcome['error']}\nthe provider refused: {provider.refused}"
    assert provider.refused == [] and provider.codes == {}
