"""Mode ``oidc`` against a local issuer with its own keys: what is accepted, what is refused, and rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.auth import AuthConfig, OidcConfig, StaticUser
from tests.integration.test_gateway_auth import assert_refused, bearer, serve

type PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

AUDIENCE = "gennaker"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    """The issuer's keys by kid, and ``evil``: a key the issuer never published."""
    return {"k1": rsa_key(), "k2": rsa_key(), "evil": rsa_key(), "ec1": ec.generate_private_key(ec.SECP256R1())}


@dataclass
class Issuer:
    """An OpenID provider in the test: discovery, a JWKS of ``published`` keys, and a token mint."""

    keys: dict[str, PrivateKey]
    published: list[str] = field(default_factory=lambda: ["k1", "ec1"])
    jwks_fetches: int = 0
    failing: bool = False
    advertised_issuer: str | None = None
    url: str = ""

    def jwks(self) -> dict[str, Any]:
        published = []
        for kid in self.published:
            key = self.keys[kid]
            if isinstance(key, rsa.RSAPrivateKey):
                jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"alg": "RS256"}
            else:
                jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"alg": "ES256"}
            published.append(jwk | {"kid": kid, "use": "sig"})
        return {"keys": published}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "user-123",
            "preferred_username": "ann",
            "email": "ann@example.com",
            "groups": ["Dev"],
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, *, kid: str = "k1", signer: str | None = None, **overrides: Any) -> str:
        key = self.keys[signer or kid]
        algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(self.claims(**overrides), key, algorithm=algorithm, headers={"kid": kid})

    def app(self) -> web.Application:
        async def discovery(request: web.Request) -> web.Response:
            issuer = self.advertised_issuer or self.url
            return web.json_response({"issuer": issuer, "jwks_uri": f"{self.url}/protocol/keys"})

        async def keys(request: web.Request) -> web.Response:
            self.jwks_fetches += 1
            if self.failing:
                return web.json_response({"error": "down"}, status=500)
            return web.json_response(self.jwks())

        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", discovery)
        app.router.add_get("/protocol/keys", keys)
        return app


@pytest.fixture
async def issuer(keys: dict[str, PrivateKey]) -> AsyncIterator[Issuer]:
    issuer = Issuer(keys=keys)
    server = TestServer(issuer.app())
    await server.start_server()
    issuer.url = str(server.make_url("")).rstrip("/")
    try:
        yield issuer
    finally:
        await server.close()


def oidc_config(issuer: Issuer, **overrides: Any) -> AuthConfig:
    top = {name: overrides.pop(name) for name in ("admin_roles", "users") if name in overrides}
    oidc = OidcConfig.model_validate(
        {"issuer": issuer.url, "audience": [AUDIENCE, "other"], "jwks_min_refetch_seconds": 0, **overrides}
    )
    return AuthConfig.model_validate({"mode": "oidc", "oidc": oidc, **top})


def encoded(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


async def test_a_token_from_the_issuer_identifies_its_user(issuer: Issuer) -> None:
    async with serve(oidc_config(issuer)) as client:
        response = await client.get("/auth/user", headers=bearer(issuer.token()))
        assert response.status == 200, await response.text()
        user = await response.json()
        assert (user["username"], user["email"], user["roles"], user["admin"]) == (
            "ann",
            "ann@example.com",
            ["dev"],
            False,
        )
        assert await (await client.get("/apps", headers=bearer(issuer.token()))).json() == ["shop", "open"]


async def test_the_user_falls_back_to_sub_and_ec_keys_work(issuer: Issuer) -> None:
    async with serve(oidc_config(issuer)) as client:
        response = await client.get("/auth/user", headers=bearer(issuer.token(kid="ec1", preferred_username=None)))
        assert (await response.json())["username"] == "user-123"


async def test_roles_can_come_from_a_nested_claim_and_make_admins(issuer: Issuer) -> None:
    config = oidc_config(issuer, roles_claim="realm_access.roles", admin_roles=["spinnaker-admins"])
    token = issuer.token(realm_access={"roles": ["Spinnaker-Admins", "ops"]}, groups=None)
    async with serve(config) as client:
        user = await (await client.get("/auth/user", headers=bearer(token))).json()
        assert (user["roles"], user["admin"]) == (["ops", "spinnaker-admins"], True)


async def test_configured_users_add_roles_to_token_users(issuer: Issuer) -> None:
    config = oidc_config(issuer, users=[StaticUser(username="ann", roles=("ops",))])
    async with serve(config) as client:
        user = await (await client.get("/auth/user", headers=bearer(issuer.token()))).json()
        assert user["roles"] == ["dev", "ops"]


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) - 3600}, "the token has expired"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"aud": "someone-else"}, "not meant for this gateway"),
        ({"iss": "https://impostor.example.com"}, "was not issued by"),
        ({"exp": None}, "lacks the 'exp' claim"),
        ({"aud": None}, "lacks the 'aud' claim"),
    ],
)
async def test_tokens_failing_a_claim_check_are_401(issuer: Issuer, claims: dict[str, Any], message: str) -> None:
    async with serve(oidc_config(issuer)) as client:
        response = await client.get("/auth/user", headers=bearer(issuer.token(**claims)))
        await assert_refused(response, 401, message=message)
        challenge = response.headers["WWW-Authenticate"]
        assert 'error="invalid_token"' in challenge and message in challenge


async def test_a_token_just_past_expiry_is_within_the_leeway(issuer: Issuer) -> None:
    async with serve(oidc_config(issuer, leeway_seconds=30)) as client:
        response = await client.get("/auth/user", headers=bearer(issuer.token(exp=int(time.time()) - 5)))
        assert response.status == 200


async def test_a_token_signed_by_another_key_under_a_published_kid_is_401(issuer: Issuer) -> None:
    async with serve(oidc_config(issuer)) as client:
        response = await client.get("/auth/user", headers=bearer(issuer.token(kid="k1", signer="evil")))
        await assert_refused(response, 401, message="signature does not verify")


async def test_an_unsigned_token_is_401(issuer: Issuer) -> None:
    token = f"{encoded({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{encoded(issuer.claims())}."
    async with serve(oidc_config(issuer)) as client:
        response = await client.get("/auth/user", headers=bearer(token))
        await assert_refused(response, 401, message="tokens signed with 'none' are not accepted")


async def test_an_hmac_token_keyed_with_the_public_key_is_401(issuer: Issuer, keys: dict[str, PrivateKey]) -> None:
    public_pem = (
        keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = f"{encoded({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'})}.{encoded(issuer.claims())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    async with serve(oidc_config(issuer)) as client:
        response = await client.get("/auth/user", headers=bearer(token))
        await assert_refused(response, 401, message="tokens signed with 'HS256' are not accepted")


async def test_only_the_configured_algorithms_are_accepted(issuer: Issuer) -> None:
    async with serve(oidc_config(issuer, algorithms=["ES256"])) as client:
        refused = await client.get("/auth/user", headers=bearer(issuer.token(kid="k1")))
        accepted = await client.get("/auth/user", headers=bearer(issuer.token(kid="ec1")))
        await assert_refused(refused, 401, message="'RS256' are not accepted")
        assert accepted.status == 200


async def test_something_that_is_not_a_jwt_is_401_and_no_token_is_401(issuer: Issuer) -> None:
    async with serve(oidc_config(issuer)) as client:
        await assert_refused(await client.get("/apps", headers=bearer("gnk_static_token")), 401, message="not a JWT")
        await assert_refused(await client.get("/apps"), 401, message="authentication is required")
        assert (await client.get("/health")).status == 200
    assert issuer.jwks_fetches == 0, "no key is fetched for a request that cannot use one"


async def test_a_rotated_key_is_picked_up_by_refetching_and_a_withdrawn_one_dropped(issuer: Issuer) -> None:
    async with serve(oidc_config(issuer)) as client:
        old = issuer.token(kid="k1")
        assert (await client.get("/auth/user", headers=bearer(old))).status == 200
        assert (await client.get("/auth/user", headers=bearer(old))).status == 200
        assert issuer.jwks_fetches == 1, "keys are cached between requests"

        issuer.published = ["k2"]
        response = await client.get("/auth/user", headers=bearer(issuer.token(kid="k2")))
        assert response.status == 200, await response.text()
        assert issuer.jwks_fetches == 2

        await assert_refused(await client.get("/auth/user", headers=bearer(old)), 401, message="no signing key 'k1'")


async def test_unknown_key_ids_do_not_hammer_the_issuer(issuer: Issuer) -> None:
    async with serve(oidc_config(issuer, jwks_min_refetch_seconds=60)) as client:
        assert (await client.get("/auth/user", headers=bearer(issuer.token()))).status == 200
        for forged in ("x1", "x2", "x3"):
            response = await client.get("/auth/user", headers=bearer(issuer.token(kid=forged, signer="evil")))
            await assert_refused(response, 401, message=f"no signing key '{forged}'")
    assert issuer.jwks_fetches == 1


async def test_an_unreachable_issuer_is_503_until_it_answers(issuer: Issuer) -> None:
    issuer.failing = True
    async with serve(oidc_config(issuer)) as client:
        response = await client.get("/auth/user", headers=bearer(issuer.token()))
        await assert_refused(response, 503, message="answered")
        issuer.failing = False
        assert (await client.get("/auth/user", headers=bearer(issuer.token()))).status == 200


async def test_cached_keys_outlive_an_issuer_outage(issuer: Issuer) -> None:
    async with serve(oidc_config(issuer, jwks_cache_seconds=0)) as client:
        assert (await client.get("/auth/user", headers=bearer(issuer.token()))).status == 200
        issuer.failing = True
        assert (await client.get("/auth/user", headers=bearer(issuer.token()))).status == 200
    assert issuer.jwks_fetches == 2, "the stale cache was refreshed, failed, and kept"


async def test_a_discovery_document_for_another_issuer_is_refused(issuer: Issuer) -> None:
    issuer.advertised_issuer = "https://impostor.example.com"
    async with serve(oidc_config(issuer)) as client:
        response = await client.get("/auth/user", headers=bearer(issuer.token()))
        await assert_refused(response, 503, message="fix auth.oidc.issuer")
    assert issuer.jwks_fetches == 0


async def test_a_configured_jwks_url_skips_discovery(issuer: Issuer) -> None:
    issuer.advertised_issuer = "https://impostor.example.com"
    async with serve(oidc_config(issuer, jwks_url=f"{issuer.url}/protocol/keys")) as client:
        assert (await client.get("/auth/user", headers=bearer(issuer.token()))).status == 200
